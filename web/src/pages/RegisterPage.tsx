import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api } from '../api/api';
import { call } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { Field } from '../components/Field';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { isEmpty, normalizeEmail, validateRegistration } from '../validation';

export function RegisterPage() {
  usePageTitle('Register');
  const auth = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const errors = useFormErrors(['email', 'password', 'confirm']);
  const next = params.get('next');

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = validateRegistration({ email, password, confirm });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      const { data } = await call(api.POST('/api/auth/register', { body: { email: normalizeEmail(email), password } }));
      auth.setNotice(`Your account is ready. We mailed ${data.email} a link to confirm the address. Log in with your new password.`);
      navigate(next ? `/login?next=${encodeURIComponent(next)}` : '/login', { state: { email: data.email } });
    } catch (error) {
      errors.setError(error);
      setBusy(false);
    }
  }

  return (
    <section className="page page-narrow" aria-labelledby="register-title">
      <h1 id="register-title">Create an account</h1>
      {errors.message && <Alert details={errors.details}>{errors.message}</Alert>}
      <form ref={errors.formRef} className="form card" onSubmit={submit} noValidate>
        <Field label="Email" name="email" errors={errors.fields.email}>
          {(control) => (
            <input {...control} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
          )}
        </Field>
        <NewPasswordFields
          name="password"
          label="Password"
          value={password}
          onChange={setPassword}
          confirm={confirm}
          onConfirmChange={setConfirm}
          errors={errors.fields}
        />
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
        </div>
      </form>
      <p className="aside">
        Already registered? <Link to={next ? `/login?next=${encodeURIComponent(next)}` : '/login'}>Log in</Link>
      </p>
    </section>
  );
}
