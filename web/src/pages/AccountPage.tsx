import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api/api';
import { call, type Session } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { Field } from '../components/Field';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { formatDateTime } from '../format';
import { isEmpty, normalizeEmail, validateEmailChange, validatePasswordChange } from '../validation';

export function AccountPage() {
  usePageTitle('Account');
  const auth = useAuth();
  return (
    <section className="page" aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <p className="muted">
        Signed in as <strong>{auth.user?.email}</strong>
        {auth.user?.role === 'admin' && ' (administrator)'}.
      </p>
      <div className="account-grid">
        <EmailAddress />
        <ChangePassword />
        <Sessions />
      </div>
    </section>
  );
}

/** Whether the address is confirmed (until it is, a way to get a new link), and a form to change it. */
function EmailAddress() {
  const auth = useAuth();
  const [status, setStatus] = useState<{ email: string; verified: boolean } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [email, setEmail] = useState('');
  const [currentPassword, setCurrentPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const errors = useFormErrors(['email', 'currentPassword']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = validateEmailChange({ email, currentPassword, current: status?.email ?? '' });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      await call(api.PUT('/api/account/email', { body: { email: normalizeEmail(email), currentPassword } }));
      // Every session ended with the change, this one included: log in again with the new address.
      auth.signedOut(`Your address is now ${normalizeEmail(email)}: log in with it. We mailed it a link to confirm it.`);
    } catch (thrown) {
      errors.setError(thrown);
      setCurrentPassword('');
      setBusy(false);
    }
  }

  useEffect(() => {
    call(api.GET('/api/account/email'))
      .then(({ data }) => setStatus(data))
      .catch((thrown: unknown) => setError(toDisplayError(thrown)));
  }, []);

  return (
    <section className="card" aria-labelledby="email-title">
      <h2 id="email-title">Email address</h2>
      {error && <Alert>{error.message}</Alert>}
      {status?.verified && (
        <p>
          <strong>{status.email}</strong> is confirmed.
        </p>
      )}
      {status && !status.verified && (
        <>
          <p>
            <strong>{status.email}</strong> is not confirmed yet. Until it is, this account can get API tokens only during its
            first 7 days.
          </p>
          <p>
            <Link to="/resend-verification">Confirm it or get a new link</Link>
          </p>
        </>
      )}
      <h3>Change the address</h3>
      {errors.message && <Alert details={errors.details}>{errors.message}</Alert>}
      <form ref={errors.formRef} className="form" onSubmit={submit} noValidate>
        <Field label="New email address" name="email" errors={errors.fields.email} hint="You will log in again with it, and confirm it by mail.">
          {(control) => <input {...control} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Your password" name="currentPassword" errors={errors.fields.currentPassword}>
          {(control) => (
            <input
              {...control}
              type="password"
              autoComplete="current-password"
              value={currentPassword}
              onChange={(e) => setCurrentPassword(e.target.value)}
            />
          )}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Changing…' : 'Change address'}
          </button>
        </div>
      </form>
    </section>
  );
}

function ChangePassword() {
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const errors = useFormErrors(['currentPassword', 'newPassword', 'confirm']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const invalid = validatePasswordChange({ currentPassword, newPassword, confirm });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      await call(api.POST('/api/account/password', { body: { currentPassword, newPassword } }));
      setCurrentPassword('');
      setNewPassword('');
      setConfirm('');
      setDone('Password changed. Every other session of yours has been ended.');
    } catch (error) {
      errors.setError(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      {done && <Alert tone="success">{done}</Alert>}
      {errors.message && <Alert details={errors.details}>{errors.message}</Alert>}
      <form ref={errors.formRef} className="form" onSubmit={submit} noValidate>
        <Field label="Current password" name="currentPassword" errors={errors.fields.currentPassword}>
          {(control) => (
            <input
              {...control}
              type="password"
              autoComplete="current-password"
              value={currentPassword}
              onChange={(e) => setCurrentPassword(e.target.value)}
            />
          )}
        </Field>
        <NewPasswordFields
          name="newPassword"
          label="New password"
          value={newPassword}
          onChange={setNewPassword}
          confirm={confirm}
          onConfirmChange={setConfirm}
          errors={errors.fields}
          required={false}
        />
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </section>
  );
}

function describeAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown device';
  const browser = /(Firefox|Edg|OPR|Chrome|Chromium|Safari)\/[\d.]+/.exec(userAgent)?.[1];
  const system = /(Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS)/.exec(userAgent)?.[1];
  const names: Record<string, string> = { Edg: 'Edge', OPR: 'Opera', 'Mac OS X': 'macOS', CrOS: 'ChromeOS' };
  if (!browser && !system) return userAgent.slice(0, 60);
  return [browser && (names[browser] ?? browser), system && `on ${names[system] ?? system}`].filter(Boolean).join(' ');
}

function Sessions() {
  const auth = useAuth();
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const { data } = await call(api.GET('/api/account/sessions'));
      setSessions([...data].sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt)));
      setError(null);
    } catch (e) {
      setError(toDisplayError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function end(session: Session) {
    setBusy(session.id);
    setDone(null);
    try {
      await call(api.DELETE('/api/account/sessions/{id}', { params: { path: { id: session.id } } }));
      if (session.current) {
        auth.signedOut('You ended this session. Log in again to continue.');
        return;
      }
      setDone('Session ended.');
      await load();
    } catch (e) {
      setError(toDisplayError(e));
    } finally {
      setBusy(null);
    }
  }

  async function endOthers() {
    setBusy('others');
    setDone(null);
    try {
      const { data } = await call(api.POST('/api/account/sessions/revoke-others'));
      const ended = Number(data.ended);
      setDone(ended === 0 ? 'There were no other sessions.' : `Ended ${ended} other session${ended === 1 ? '' : 's'}.`);
      await load();
    } catch (e) {
      setError(toDisplayError(e));
    } finally {
      setBusy(null);
    }
  }

  const others = sessions?.filter((s) => !s.current).length ?? 0;
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <p className="muted">Where your account is signed in. End any session you do not recognise.</p>
      {done && <Alert tone="success">{done}</Alert>}
      {error && <Alert>{error.message}</Alert>}
      {sessions === null && !error && (
        <p className="loading" role="status">
          Loading sessions…
        </p>
      )}
      {sessions && (
        <ul className="session-list" aria-label="Sessions">
          {sessions.map((session) => (
            <li key={session.id} className="session-item">
              <div className="session-info">
                <p className="session-device">
                  {describeAgent(session.userAgent)}
                  {session.current && <span className="badge">This session</span>}
                </p>
                <p className="muted">
                  {session.ip ?? 'unknown address'} · signed in {formatDateTime(session.createdAt)} · last active{' '}
                  {formatDateTime(session.lastSeenAt)}
                </p>
              </div>
              <button
                type="button"
                className="button button-small"
                onClick={() => void end(session)}
                disabled={busy !== null}
                aria-label={session.current ? 'End this session (log out)' : `End session ${describeAgent(session.userAgent)} from ${session.ip ?? 'unknown address'}`}
              >
                {session.current ? 'End (log out)' : 'End'}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="form-actions">
        <button type="button" className="button" onClick={() => void endOthers()} disabled={busy !== null || others === 0}>
          {busy === 'others' ? 'Ending…' : 'End all other sessions'}
        </button>
      </div>
    </section>
  );
}
