import { BrowserRouter, Link, Navigate, Route, Routes } from 'react-router';
import { AuthProvider } from './auth/AuthContext';
import { GuestOnly, RequireAuth } from './components/Guards';
import { Layout } from './components/Layout';
import { usePageTitle } from './components/usePageTitle';
import { AccountPage } from './pages/AccountPage';
import { AdminPage } from './pages/AdminPage';
import { ForgotPasswordPage } from './pages/ForgotPasswordPage';
import { LoginPage } from './pages/LoginPage';
import { NoteEditorRoute } from './pages/NoteEditorPage';
import { NotesPage } from './pages/NotesPage';
import { RegisterPage } from './pages/RegisterPage';
import { ResendVerificationPage } from './pages/ResendVerificationPage';
import { ResetPasswordPage } from './pages/ResetPasswordPage';
import { VerifyEmailPage } from './pages/VerifyEmailPage';

function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <section className="page" aria-labelledby="notfound-title">
      <h1 id="notfound-title">Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/notes">Go to your notes</Link>.
      </p>
    </section>
  );
}

/**
 * The routes nginx answers with index.html: /login, /register, /forgot-password, /reset-password,
 * /verify-email, /resend-verification, /notes, /notes/new, /notes/:id, /account, /admin.
 */
export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Navigate to="/notes" replace />} />
        <Route path="login" element={<GuestOnly><LoginPage /></GuestOnly>} />
        <Route path="register" element={<GuestOnly><RegisterPage /></GuestOnly>} />
        <Route path="forgot-password" element={<GuestOnly><ForgotPasswordPage /></GuestOnly>} />
        {/* Links from mails: they work signed in or not (the API refuses another account's link). */}
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route path="verify-email" element={<VerifyEmailPage />} />
        <Route path="resend-verification" element={<RequireAuth><ResendVerificationPage /></RequireAuth>} />
        <Route path="notes" element={<RequireAuth><NotesPage /></RequireAuth>} />
        <Route path="notes/new" element={<RequireAuth><NoteEditorRoute /></RequireAuth>} />
        <Route path="notes/:id" element={<RequireAuth><NoteEditorRoute /></RequireAuth>} />
        <Route path="account" element={<RequireAuth><AccountPage /></RequireAuth>} />
        <Route path="admin" element={<RequireAuth role="admin"><AdminPage /></RequireAuth>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </BrowserRouter>
  );
}
