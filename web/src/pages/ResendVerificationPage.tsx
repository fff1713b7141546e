import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/api';
import { call } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { usePageTitle } from '../components/usePageTitle';

type EmailStatus = { email: string; verified: boolean };

/** Whether the signed-in user's address is confirmed, and a button to mail the link again when it is not. */
export function ResendVerificationPage() {
  usePageTitle('Confirm your email address');
  const [status, setStatus] = useState<EmailStatus | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [sendError, setSendError] = useState<ApiError | null>(null);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const { data } = await call(api.GET('/api/account/email'));
      setStatus(data);
    } catch (error) {
      setLoadError(toDisplayError(error));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function resend() {
    setBusy(true);
    setSendError(null);
    setSent(false);
    try {
      await call(api.POST('/api/account/email/verification'));
      setSent(true);
    } catch (error) {
      const problem = toDisplayError(error);
      setSendError(problem);
      if (problem.kind === 'conflict') void load();
    } finally {
      setBusy(false);
    }
  }

  let body;
  if (loadError) {
    body = (
      <Alert
        actions={
          <button type="button" className="button" onClick={() => void load()}>
            Try again
          </button>
        }
      >
        {loadError.message}
      </Alert>
    );
  } else if (!status) {
    body = (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  } else if (status.verified) {
    body = (
      <Alert tone="success" actions={<Link to="/notes">Go to your notes</Link>}>
        Your email address <strong>{status.email}</strong> is confirmed.
      </Alert>
    );
  } else {
    body = (
      <div className="card">
        <p>
          Your email address <strong>{status.email}</strong> is not confirmed yet. We mailed it a link when you registered; if you
          cannot find it, we can send a new one. Each link works for 24 hours, once.
        </p>
        {sent && <Alert tone="success">A new link is on its way to {status.email}.</Alert>}
        {sendError && <Alert>{sendError.message}</Alert>}
        <div className="form-actions">
          <button type="button" className="button button-primary" onClick={() => void resend()} disabled={busy}>
            {busy ? 'Sending…' : 'Send the link again'}
          </button>
        </div>
      </div>
    );
  }

  return (
    <section className="page page-narrow" aria-labelledby="resend-title">
      <h1 id="resend-title">Confirm your email address</h1>
      {body}
    </section>
  );
}
