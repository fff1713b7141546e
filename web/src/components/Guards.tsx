import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { Alert } from './Alert';

/** Where to go after logging in: a path inside the app only, never another site. */
export function safeNext(next: string | null | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') && !next.startsWith('/login')
    ? next
    : '/notes';
}

function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}

function Unreachable() {
  const auth = useAuth();
  return (
    <Alert
      actions={
        <button type="button" className="button" onClick={auth.retry}>
          Try again
        </button>
      }
    >
      {auth.offline ?? 'Cannot reach the server.'}
    </Alert>
  );
}

/** Pages for signed-in users; anyone else goes to log-in, keeping where they were going. */
export function RequireAuth({ children, role }: { children: ReactNode; role?: string }) {
  const auth = useAuth();
  const location = useLocation();
  if (auth.status === 'loading') return <Loading />;
  if (auth.status === 'unreachable') return <Unreachable />;
  if (auth.status !== 'authenticated') {
    if (auth.loggedOut) return <Navigate to="/login" replace />;
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (role && auth.user?.role !== role) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
        <Alert>You are not allowed to see this page.</Alert>
      </section>
    );
  }
  return children;
}

/** Log-in and registration: a signed-in user has nothing to do there. */
export function GuestOnly({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const location = useLocation();
  if (auth.status === 'loading') return <Loading />;
  if (auth.status === 'authenticated') {
    return <Navigate to={safeNext(new URLSearchParams(location.search).get('next'))} replace />;
  }
  return children;
}
