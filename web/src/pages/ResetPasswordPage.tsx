import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../api/api';
import { call } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { isEmpty, validatePasswordReset } from '../validation';
import { useLinkToken } from './linkToken';

/** The page a reset link opens: a new password, then every session of the account ends and the user logs in again. */
export function ResetPasswordPage() {
  usePageTitle('Choose a new password');
  const auth = useAuth();
  const navigate = useNavigate();
  const token = useLinkToken();
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const errors = useFormErrors(['newPassword', 'confirm']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = validatePasswordReset({ newPassword, confirm });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      await call(api.POST('/api/auth/password-reset/confirm', { body: { token, newPassword } }));
      const notice = 'Your password has been changed and every session of your account has ended. Log in with the new password.';
      if (auth.status === 'authenticated') auth.signedOut(notice);
      else auth.setNotice(notice);
      navigate('/login', { replace: true });
    } catch (error) {
      errors.setError(error);
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <section className="page page-narrow" aria-labelledby="reset-title">
        <h1 id="reset-title">Choose a new password</h1>
        <Alert>
          This page needs the link from the password-reset mail. Open the link from the mail itself, or ask for a new one.
        </Alert>
        <p className="aside">
          <Link to="/forgot-password">Ask for a reset link</Link>
        </p>
      </section>
    );
  }

  return (
    <section className="page page-narrow" aria-labelledby="reset-title">
      <h1 id="reset-title">Choose a new password</h1>
      {errors.message && (
        <Alert
          details={errors.details}
          actions={errors.error?.kind === 'invalid-link' ? <Link to="/forgot-password">Ask for a new link</Link> : undefined}
        >
          {errors.message}
        </Alert>
      )}
      <form ref={errors.formRef} className="form card" onSubmit={submit} noValidate>
        <NewPasswordFields
          name="newPassword"
          label="New password"
          value={newPassword}
          onChange={setNewPassword}
          confirm={confirm}
          onConfirmChange={setConfirm}
          errors={errors.fields}
        />
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Set the new password'}
          </button>
        </div>
      </form>
      <p className="aside">Setting a new password signs your account out everywhere.</p>
    </section>
  );
}
