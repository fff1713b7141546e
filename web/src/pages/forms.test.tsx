import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../App';
import { AuthProvider } from '../auth/AuthContext';
import { json, mockFetch, path, problem } from '../test/http';

const user = { id: '0193a0b4-0000-7000-8000-00000000000a', email: 'ann@example.com', role: 'user' };
const noteId = '0193a0b4-0000-7000-8000-000000000001';
const note = (version: number, body: string) => ({
  id: noteId,
  title: 'Plan',
  body,
  tags: ['work'],
  version,
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:00:00Z',
});

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
  return mockFetch((request) => {
    const route = routes[path(request)];
    if (route) return route(request);
    return problem(401, 'unauthenticated');
  });
}

/** The API of a logged-in browser (after a reload: /me then /csrf), plus `routes`. */
function signedInApi(routes: Record<string, (request: Request) => Response | Promise<Response>>) {
  return mockFetch((request) => {
    const key = path(request);
    if (routes[key]) return routes[key](request);
    if (key === 'GET /api/auth/me') return json(200, user);
    if (key === 'GET /api/auth/csrf') return json(200, { csrfToken: 'token-from-csrf' });
    return problem(404, 'not-found');
  });
}

describe('log-in form', () => {
  it('shows what is missing beside each field and sends nothing', async () => {
    const requests = anonymousApi({});
    renderAt('/login');
    await userEvent.click(await screen.findByRole('button', { name: 'Log in' }));
    expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('Email is required.');
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription('Password is required.');
    expect(screen.getByLabelText('Email')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Email')).toHaveFocus();
    expect(requests.map(path)).not.toContain('POST /api/auth/login');
  });

  it('says the email or password is wrong on a 401 and empties the password', async () => {
    anonymousApi({ 'POST /api/auth/login': () => problem(401, 'invalid-credentials') });
    renderAt('/login');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'not my password');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The email or password is wrong.');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  it('gives the throttle wait from Retry-After', async () => {
    anonymousApi({ 'POST /api/auth/login': () => problem(429, 'throttled', {}, { 'Retry-After': '840' }) });
    renderAt('/login');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'guess number six');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many attempts. Try again in 14 minutes.');
  });

  it('goes on to the page the user was going to', async () => {
    anonymousApi({
      'POST /api/auth/login': () => json(200, { user, csrfToken: 'token-from-login' }),
      'GET /api/account/sessions': () => json(200, []),
    });
    renderAt('/login?next=%2Faccount');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'the right password');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('heading', { name: 'Account' })).toBeInTheDocument();
  });
});

describe('registration form', () => {
  it('checks the password length before sending', async () => {
    const requests = anonymousApi({});
    renderAt('/register');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'short');
    await userEvent.type(screen.getByLabelText('Repeat the password'), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription(
      expect.stringContaining('Password must be at least 12 characters.'),
    );
    expect(requests.map(path)).not.toContain('POST /api/auth/register');
  });

  it('puts the API’s field errors beside their fields', async () => {
    anonymousApi({
      'POST /api/auth/register': () => problem(400, 'validation', { errors: { email: ['Email must look like name@example.com.'] } }),
    });
    renderAt('/register');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'a long enough password');
    await userEvent.type(screen.getByLabelText('Repeat the password'), 'a long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    await waitFor(() => expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('Email must look like name@example.com.'));
    expect(screen.getByRole('alert')).toHaveTextContent('Some fields need attention.');
  });

  it('shows a 409 in the API’s words', async () => {
    anonymousApi({ 'POST /api/auth/register': () => problem(409, 'conflict', { detail: 'An account with that email already exists.' }) });
    renderAt('/register');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'a long enough password');
    await userEvent.type(screen.getByLabelText('Repeat the password'), 'a long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('An account with that email already exists.');
  });
});

describe('note editor', () => {
  it('saves with If-Match and the CSRF token, shows a 412 as a conflict and reloads the current version', async () => {
    let version = 3;
    const requests = signedInApi({
      [`GET /api/notes/${noteId}`]: () =>
        version === 3 ? json(200, note(3, 'mine'), { ETag: '"3"' }) : json(200, note(4, 'theirs'), { ETag: '"4"' }),
      [`PUT /api/notes/${noteId}`]: () => {
        version = 4;
        return problem(412, 'precondition-failed');
      },
    });
    renderAt(`/notes/${noteId}`);
    const text = await screen.findByLabelText('Text');
    expect(text).toHaveValue('mine');
    await userEvent.clear(text);
    await userEvent.type(text, 'my edit');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Conflict: Someone changed this since you opened it');
    const put = requests.find((r) => r.method === 'PUT')!;
    expect(put.headers.get('If-Match')).toBe('"3"');
    expect(put.headers.get('X-CSRF-Token')).toBe('token-from-csrf');

    await userEvent.click(screen.getByRole('button', { name: 'Reload the current version' }));
    await waitFor(() => expect(screen.getByLabelText('Text')).toHaveValue('theirs'));
    expect(screen.getByText('Your unsaved version')).toBeInTheDocument();
  });

  it('retries a failed create with the same Idempotency-Key, and a changed one with a new key', async () => {
    let calls = 0;
    const requests = signedInApi({
      'POST /api/notes': () => {
        calls += 1;
        if (calls < 3) throw new TypeError('Failed to fetch');
        return json(201, note(1, 'x'), { ETag: '"1"' });
      },
      [`GET /api/notes/${noteId}`]: () => json(200, note(1, 'x'), { ETag: '"1"' }),
    });
    renderAt('/notes/new');
    await userEvent.type(await screen.findByLabelText('Title'), 'Plan');
    await userEvent.click(screen.getByRole('button', { name: 'Create note' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Cannot reach the server.');
    await userEvent.click(screen.getByRole('button', { name: 'Create note' }));
    await waitFor(() => expect(requests.filter((r) => r.method === 'POST')).toHaveLength(2));
    await userEvent.type(screen.getByLabelText('Title'), ' B');
    await userEvent.click(screen.getByRole('button', { name: 'Create note' }));
    expect(await screen.findByRole('heading', { name: 'Edit note' })).toBeInTheDocument();

    const keys = requests.filter((r) => r.method === 'POST').map((r) => r.headers.get('Idempotency-Key'));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('shows tag errors from the API beside the tags field', async () => {
    signedInApi({
      'POST /api/notes': () =>
        problem(400, 'validation', { errors: { 'tags[1]': ['A tag is 1 to 32 characters with no spaces or commas.'] } }),
    });
    renderAt('/notes/new');
    await userEvent.type(await screen.findByLabelText('Title'), 'Plan');
    await userEvent.type(screen.getByLabelText('Tags'), 'one, two');
    await userEvent.click(screen.getByRole('button', { name: 'Create note' }));
    await waitFor(() =>
      expect(screen.getByLabelText('Tags')).toHaveAccessibleDescription(
        expect.stringContaining('Tag 2: A tag is 1 to 32 characters with no spaces or commas.'),
      ),
    );
  });
});

describe('a session that ends behind the app’s back', () => {
  it('sends the user to log-in, keeping where they were', async () => {
    signedInApi({ 'GET /api/notes': () => problem(401, 'unauthenticated') });
    renderAt('/notes?q=plan');
    expect(await screen.findByRole('heading', { name: 'Log in' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Your session has ended. Log in again.');
    // The way on (here through registration) still carries the page they were on.
    const hrefs = screen.getAllByRole('link', { name: 'Register' }).map((a) => a.getAttribute('href'));
    expect(hrefs).toContain('/register?next=%2Fnotes%3Fq%3Dplan');
  });
});
