import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/api';
import { call } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { usePageTitle } from '../components/usePageTitle';
import { useLinkToken } from './linkToken';

/** The page a verification link opens: it spends the link's token once, and says what happened. */
export function VerifyEmailPage() {
  usePageTitle('Confirm your email address');
  const auth = useAuth();
  const token = useLinkToken();
  const [state, setState] = useState<'checking' | 'verified' | ApiError>('checking');
  const sent = useRef(false);

  useEffect(() => {
    // Sent once, even where React runs effects twice: a second try would find the token spent.
    if (!token || sent.current || auth.status === 'loading') return;
    sent.current = true;
    call(api.POST('/api/auth/verify-email', { body: { token } }))
      .then(() => setState('verified'))
      .catch((error: unknown) => setState(toDisplayError(error)));
  }, [token, auth.status]);

  const signedIn = auth.status === 'authenticated';
  const askAgain = signedIn ? (
    <Link to="/resend-verification">Send me a new link</Link>
  ) : (
    <Link to="/login?next=%2Fresend-verification">Log in to ask for a new link</Link>
  );

  let body;
  if (!token) {
    body = <Alert actions={askAgain}>This page needs the link from the verification mail. Open the link from the mail itself.</Alert>;
  } else if (state === 'checking') {
    body = (
      <p className="loading" role="status">
        Checking your link…
      </p>
    );
  } else if (state === 'verified') {
    body = (
      <Alert tone="success" actions={<Link to={signedIn ? '/notes' : '/login'}>{signedIn ? 'Go to your notes' : 'Log in'}</Link>}>
        Thank you: your email address is confirmed.
      </Alert>
    );
  } else {
    body = <Alert actions={state.kind === 'invalid-link' ? askAgain : undefined}>{state.message}</Alert>;
  }

  return (
    <section className="page page-narrow" aria-labelledby="verify-title">
      <h1 id="verify-title">Confirm your email address</h1>
      {body}
    </section>
  );
}
