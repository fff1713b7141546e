import { useState } from 'react';
import { Link, NavLink, Outlet } from 'react-router';
import { toDisplayError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Alert } from './Alert';

/** The frame of every page: skip link, header with navigation, and the page in <main>. */
export function Layout() {
  const auth = useAuth();
  const [logoutError, setLogoutError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signedIn = auth.status === 'authenticated' && auth.user;

  async function logout() {
    setBusy(true);
    setLogoutError(null);
    try {
      // The route guard then sends the browser to log-in.
      await auth.logout();
    } catch (error) {
      setLogoutError(toDisplayError(error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="site-header-inner">
          <Link to={signedIn ? '/notes' : '/login'} className="brand">
            Quartet
          </Link>
          {signedIn ? (
            <>
              <nav aria-label="Main" className="site-nav">
                <NavLink to="/notes">Notes</NavLink>
                <NavLink to="/account">Account</NavLink>
                {auth.user!.role === 'admin' && <NavLink to="/admin">Admin</NavLink>}
              </nav>
              <div className="site-account">
                <span className="site-user" title={auth.user!.email}>
                  {auth.user!.email}
                </span>
                <button type="button" className="button button-small" onClick={logout} disabled={busy}>
                  Log out
                </button>
              </div>
            </>
          ) : (
            <nav aria-label="Main" className="site-nav">
              <NavLink to="/login">Log in</NavLink>
              <NavLink to="/register">Register</NavLink>
            </nav>
          )}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {signedIn && auth.offline && <Alert>{auth.offline}</Alert>}
        {logoutError && <Alert>{logoutError}</Alert>}
        <Outlet />
      </main>
    </>
  );
}
