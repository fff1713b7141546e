import { useState, type FormEvent } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { Field } from '../components/Field';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { isEmpty, validateLogin } from '../validation';

export function LoginPage() {
  usePageTitle('Log in');
  const auth = useAuth();
  const [params] = useSearchParams();
  const location = useLocation();
  const registeredEmail = (location.state as { email?: string } | null)?.email ?? '';
  const [email, setEmail] = useState(registeredEmail);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const errors = useFormErrors(['email', 'password']);
  const next = params.get('next');

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = validateLogin({ email, password });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setBusy(true);
    try {
      // Success re-renders the route, which sends the user on to `next`.
      await auth.login(email.trim(), password);
    } catch (error) {
      errors.setError(error);
      setPassword('');
      setBusy(false);
    }
  }

  return (
    <section className="page page-narrow" aria-labelledby="login-title">
      <h1 id="login-title">Log in</h1>
      {auth.notice && !errors.message && <Alert tone="info">{auth.notice}</Alert>}
      {errors.message && <Alert details={errors.details}>{errors.message}</Alert>}
      <form ref={errors.formRef} className="form card" onSubmit={submit} noValidate>
        <Field label="Email" name="email" errors={errors.fields.email}>
          {(control) => (
            <input {...control} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
          )}
        </Field>
        <Field label="Password" name="password" errors={errors.fields.password}>
          {(control) => (
            <input
              {...control}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          )}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </div>
      </form>
      <p className="aside">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p className="aside">
        No account yet? <Link to={next ? `/register?next=${encodeURIComponent(next)}` : '/register'}>Register</Link>
      </p>
    </section>
  );
}
