import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, csrf, onUnauthenticated } from '../api/api';
import { call, type User } from '../api/client';
import { ApiError, toDisplayError } from '../api/errors';

/** How often an open tab asks whether its session is still alive (it may be ended elsewhere). */
export const SESSION_CHECK_MS = 10_000;

export type AuthStatus = 'loading' | 'anonymous' | 'authenticated' | 'unreachable';

export interface AuthState {
  status: AuthStatus;
  user: User | null;
  /** A message for the log-in page ("your session has ended", "you have logged out"). */
  notice: string | null;
  /** Set while the periodic check cannot reach the server. */
  offline: string | null;
  /** True after a deliberate log-out: log-in then starts afresh instead of returning to the last page. */
  loggedOut: boolean;
  login(email: string, password: string): Promise<User>;
  logout(): Promise<void>;
  retry(): void;
  setNotice(notice: string | null): void;
  /** Forget the session here after it was ended on purpose (e.g. "end this session" on the account page). */
  signedOut(notice: string): void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const auth = useContext(AuthContext);
  if (!auth) {
    throw new Error('useAuth outside AuthProvider');
  }
  return auth;
}

async function fetchCsrfToken(): Promise<string> {
  const { data } = await call(api.GET('/api/auth/csrf'));
  return data.csrfToken;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<AuthStatus>('loading');
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [offline, setOffline] = useState<string | null>(null);
  const [loggedOut, setLoggedOut] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const statusRef = useRef(status);
  statusRef.current = status;
  const userRef = useRef(user);
  userRef.current = user;

  const endSession = useCallback((message: string | null, deliberate = false) => {
    csrf.set(null);
    setUser(null);
    setOffline(null);
    setNotice(message);
    setLoggedOut(deliberate);
    setStatus('anonymous');
  }, []);

  // Any 401 from any call while signed in: the session was ended behind the app's back.
  useEffect(
    () =>
      onUnauthenticated(() => {
        if (statusRef.current === 'authenticated') {
          endSession('Your session has ended. Log in again.');
        }
      }),
    [endSession],
  );

  // On start (and on "retry"): is there a live session? If so, fetch its CSRF token again.
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const { data } = await call(api.GET('/api/auth/me'));
        const token = await fetchCsrfToken();
        if (!cancelled) {
          csrf.set(token);
          setUser(data);
          setStatus('authenticated');
        }
      } catch (error) {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 401) {
          setStatus('anonymous');
        } else {
          setOffline(toDisplayError(error).message);
          setStatus('unreachable');
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  // While signed in: re-check every 10 s while the tab is visible, and at once when it comes back into
  // view or focus (also re-fetching the CSRF token, which another tab's new login would have changed).
  // GET /api/auth/session answers like /me but does not count as activity, so polling it never keeps an
  // unattended session from reaching its idle timeout.
  useEffect(() => {
    if (status !== 'authenticated') return;
    let inFlight = false;
    const check = async (withToken: boolean) => {
      if (inFlight || document.visibilityState !== 'visible') return;
      inFlight = true;
      try {
        const { data } = await call(api.GET('/api/auth/session'));
        if (withToken || data.id !== userRef.current?.id) {
          csrf.set(await fetchCsrfToken());
        }
        if (data.id !== userRef.current?.id || data.role !== userRef.current?.role) {
          setUser(data);
        }
        setOffline(null);
      } catch (error) {
        const problem = toDisplayError(error);
        // A 401 is handled by the onUnauthenticated listener above.
        if (problem.kind === 'network' || problem.kind === 'unavailable' || problem.kind === 'server') {
          setOffline(problem.message);
        }
      } finally {
        inFlight = false;
      }
    };
    const timer = window.setInterval(() => void check(false), SESSION_CHECK_MS);
    const onVisible = () => void check(true);
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    };
  }, [status]);

  const login = useCallback(async (email: string, password: string) => {
    const { data } = await call(api.POST('/api/auth/login', { body: { email, password } }));
    csrf.set(data.csrfToken);
    setUser(data.user);
    setNotice(null);
    setOffline(null);
    setLoggedOut(false);
    setStatus('authenticated');
    return data.user;
  }, []);

  const logout = useCallback(async () => {
    try {
      await call(api.POST('/api/auth/logout'));
    } catch (error) {
      // Already ended elsewhere: logged out all the same.
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    }
    endSession('You have logged out.', true);
  }, [endSession]);

  const signedOut = useCallback((message: string) => endSession(message, true), [endSession]);

  const retry = useCallback(() => {
    setStatus('loading');
    setAttempt((n) => n + 1);
  }, []);

  const value = useMemo<AuthState>(
    () => ({ status, user, notice, offline, loggedOut, login, logout, retry, setNotice, signedOut }),
    [status, user, notice, offline, loggedOut, login, logout, retry, signedOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
