import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App';
import { AuthProvider } from '../auth/AuthContext';
import { json, mockFetch, path, problem } from '../test/http';

const token = 'q6XbS2e0cT4r9W1kL8mN3pV7yZ5aB1dF0gH2jK4lM6n';

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </MemoryRouter>,
  );
}

/** The API of a browser that is not logged in, plus `routes` ("METHOD /path" → response). */
function anonymousApi(routes: Record<string, (request: Request) => Response>) {
  return mockFetch((request) => routes[path(request)]?.(request) ?? problem(401, 'unauthenticated'));
}

describe('forgot-password page', () => {
  it('checks the address before sending, then says the same thing whatever the answer means', async () => {
    const requests = anonymousApi({ 'POST /api/auth/password-reset': () => new Response(null, { status: 202 }) });
    renderAt('/forgot-password');
    await userEvent.type(await screen.findByLabelText('Email'), 'not-an-address');
    await userEvent.click(screen.getByRole('button', { name: 'Send the link' }));
    expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('Email must look like name@example.com.');
    expect(requests.map(path)).not.toContain('POST /api/auth/password-reset');

    await userEvent.clear(screen.getByLabelText('Email'));
    await userEvent.type(screen.getByLabelText('Email'), ' Ann@Example.com ');
    await userEvent.click(screen.getByRole('button', { name: 'Send the link' }));

    expect(await screen.findByRole('status')).toHaveTextContent('If an account exists for ann@example.com');
    const sent = requests.find((r) => path(r) === 'POST /api/auth/password-reset')!;
    expect(await sent.json()).toEqual({ email: 'ann@example.com' });
  });

  it('gives the throttle wait from Retry-After', async () => {
    anonymousApi({ 'POST /api/auth/password-reset': () => problem(429, 'throttled', {}, { 'Retry-After': '1800' }) });
    renderAt('/forgot-password');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Send the link' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many attempts. Try again in 30 minutes.');
  });
});

describe('reset-password page', () => {
  it('sends the token from the link with the new password, then sends the user to log in', async () => {
    const requests = anonymousApi({ 'POST /api/auth/password-reset/confirm': () => new Response(null, { status: 204 }) });
    renderAt(`/reset-password#token=${token}`);
    await userEvent.type(await screen.findByLabelText('New password'), 'a brand new passphrase');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a brand new passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Set the new password' }));

    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Your password has been changed');
    const sent = requests.find((r) => path(r) === 'POST /api/auth/password-reset/confirm')!;
    expect(await sent.json()).toEqual({ token, newPassword: 'a brand new passphrase' });
  });

  it('says when the link no longer works and offers a new one', async () => {
    anonymousApi({ 'POST /api/auth/password-reset/confirm': () => problem(400, 'invalid-link', { detail: 'expired' }) });
    renderAt(`/reset-password#token=${token}`);
    await userEvent.type(await screen.findByLabelText('New password'), 'a brand new passphrase');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a brand new passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Set the new password' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('This link does not work any more');
    expect(screen.getByRole('link', { name: 'Ask for a new link' })).toHaveAttribute('href', '/forgot-password');
  });

  it('checks the passwords before sending', async () => {
    const requests = anonymousApi({});
    renderAt(`/reset-password#token=${token}`);
    await userEvent.type(await screen.findByLabelText('New password'), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Set the new password' }));
    expect(screen.getByLabelText('New password')).toHaveAccessibleDescription(/at least 12 characters/);
    expect(screen.getByLabelText('New password')).toHaveFocus();
    expect(requests.map(path)).not.toContain('POST /api/auth/password-reset/confirm');
  });

  it('without a token in the link, points to the forgot-password page', async () => {
    anonymousApi({});
    renderAt('/reset-password');
    expect(await screen.findByRole('alert')).toHaveTextContent('needs the link from the password-reset mail');
    expect(screen.queryByLabelText('New password')).not.toBeInTheDocument();
  });
});

describe('verify-email page', () => {
  it('spends the link once and says the address is confirmed', async () => {
    const requests = anonymousApi({ 'POST /api/auth/verify-email': () => new Response(null, { status: 204 }) });
    renderAt(`/verify-email#token=${token}`);
    expect(await screen.findByText('Thank you: your email address is confirmed.')).toBeInTheDocument();
    expect(requests.filter((r) => path(r) === 'POST /api/auth/verify-email')).toHaveLength(1);
  });

  it('offers a new link after an invalid one', async () => {
    anonymousApi({ 'POST /api/auth/verify-email': () => problem(400, 'invalid-link') });
    renderAt(`/verify-email#token=${token}`);
    expect(await screen.findByRole('alert')).toHaveTextContent('This link does not work any more');
    expect(screen.getByRole('link', { name: 'Log in to ask for a new link' })).toBeInTheDocument();
  });
});

describe('resend-verification page', () => {
  it('sends a new link and shows a 429 in words', async () => {
    let sends = 0;
    mockFetch((request) => {
      const key = path(request);
      if (key === 'GET /api/auth/me') return json(200, { id: '0193a0b4-0000-7000-8000-00000000000a', email: 'ann@example.com', role: 'user' });
      if (key === 'GET /api/auth/csrf') return json(200, { csrfToken: 'csrf' });
      if (key === 'GET /api/account/email') return json(200, { email: 'ann@example.com', verified: false, verifiedAt: null });
      if (key === 'POST /api/account/email/verification') {
        sends += 1;
        return sends === 1 ? new Response(null, { status: 202 }) : problem(429, 'throttled', {}, { 'Retry-After': '60' });
      }
      return problem(404, 'not-found');
    });
    renderAt('/resend-verification');
    await userEvent.click(await screen.findByRole('button', { name: 'Send the link again' }));
    expect(await screen.findByText('A new link is on its way to ann@example.com.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Send the link again' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many attempts. Try again in 1 minute.');
  });
});

describe('changing the address on the account page', () => {
  function accountApi(put: (request: Request) => Response) {
    return mockFetch((request) => {
      const key = path(request);
      if (key === 'GET /api/auth/me') return json(200, { id: '0193a0b4-0000-7000-8000-00000000000a', email: 'ann@example.com', role: 'user' });
      if (key === 'GET /api/auth/csrf') return json(200, { csrfToken: 'csrf' });
      if (key === 'GET /api/account/email') return json(200, { email: 'ann@example.com', verified: true, verifiedAt: '2026-01-01T00:00:00Z' });
      if (key === 'GET /api/account/sessions') return json(200, []);
      if (key === 'PUT /api/account/email') return put(request);
      return problem(404, 'not-found');
    });
  }

  it('sends the new address with the password, then asks to log in again with it', async () => {
    const requests = accountApi(() => new Response(null, { status: 204 }));
    renderAt('/account');
    expect(await screen.findByText('ann@example.com', { selector: 'strong' })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('New email address'), 'Ann@Example.org');
    await userEvent.type(screen.getByLabelText('Your password'), 'correct horse battery staple');
    await userEvent.click(screen.getByRole('button', { name: 'Change address' }));

    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Your address is now ann@example.org');
    const sent = requests.find((r) => path(r) === 'PUT /api/account/email')!;
    expect(sent.headers.get('X-CSRF-Token')).toBe('csrf');
    expect(await sent.json()).toEqual({ email: 'ann@example.org', currentPassword: 'correct horse battery staple' });
  });

  it('shows a taken address in the API’s words and a wrong password beside its field', async () => {
    let calls = 0;
    accountApi(() =>
      ++calls === 1
        ? problem(409, 'conflict', { detail: 'An account with that email already exists.' })
        : problem(400, 'validation', { errors: { currentPassword: ['The current password is wrong.'] } }),
    );
    renderAt('/account');
    await userEvent.type(await screen.findByLabelText('New email address'), 'bob@example.com');
    await userEvent.type(screen.getByLabelText('Your password'), 'correct horse battery staple');
    await userEvent.click(screen.getByRole('button', { name: 'Change address' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('An account with that email already exists.');

    await userEvent.type(screen.getByLabelText('Your password'), 'a wrong password');
    await userEvent.click(screen.getByRole('button', { name: 'Change address' }));
    expect(await screen.findByText('The current password is wrong.')).toBeInTheDocument();
    expect(screen.getByLabelText('Your password')).toHaveAccessibleDescription('The current password is wrong.');
  });
});
