import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api/api';
import { call } from '../api/client';
import { Alert } from '../components/Alert';
import { Field } from '../components/Field';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { emailError, normalizeEmail } from '../validation';

/** Asks for a reset link. The API answers the same whether or not the address has an account, and so does this page. */
export function ForgotPasswordPage() {
  usePageTitle('Forgot password');
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errors = useFormErrors(['email']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = emailError(email);
    if (invalid) {
      errors.setClientErrors({ email: [invalid] });
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      await call(api.POST('/api/auth/password-reset', { body: { email: normalizeEmail(email) } }));
      setSentTo(normalizeEmail(email));
    } catch (error) {
      errors.setError(error);
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <section className="page page-narrow" aria-labelledby="forgot-title">
        <h1 id="forgot-title">Check your mail</h1>
        <Alert tone="success">
          If an account exists for <strong>{sentTo}</strong>, a link to choose a new password is on its way. It works for 30
          minutes, once. Nothing arriving? Look in the spam folder, or ask again in a few minutes.
        </Alert>
        <p className="aside">
          <Link to="/login">Back to log in</Link>
        </p>
      </section>
    );
  }

  return (
    <section className="page page-narrow" aria-labelledby="forgot-title">
      <h1 id="forgot-title">Forgot your password?</h1>
      <p className="muted">Give the email address of your account, and we will mail you a link to choose a new password.</p>
      {errors.message && <Alert details={errors.details}>{errors.message}</Alert>}
      <form ref={errors.formRef} className="form card" onSubmit={submit} noValidate>
        <Field label="Email" name="email" errors={errors.fields.email}>
          {(control) => (
            <input {...control} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
          )}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Sending…' : 'Send the link'}
          </button>
        </div>
      </form>
      <p className="aside">
        Remembered it? <Link to="/login">Log in</Link>
      </p>
    </section>
  );
}
