import { describe, expect, it, vi } from 'vitest';
import { json, mockFetch, problem } from '../test/http';
import { call, createApiClient, CSRF_HEADER, etagFor, IdempotencyKeys, needsCsrf, randomUuid } from './client';
import { ApiError } from './errors';

const note = {
  id: '0193a0b4-0000-7000-8000-000000000001',
  title: 'T',
  body: 'B',
  tags: [],
  version: 3,
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:00:00Z',
};

function setup(token: string | null = 'token-1') {
  const onUnauthenticated = vi.fn();
  let respond: (request: Request) => Response = () => json(200, {});
  const requests = mockFetch((request) => respond(request));
  const client = createApiClient({ baseUrl: 'http://app.test', csrfToken: () => token, onUnauthenticated });
  return {
    client,
    requests,
    onUnauthenticated,
    respondWith(handler: (request: Request) => Response) {
      respond = handler;
    },
  };
}

describe('CSRF header', () => {
  it('is needed on POST, PUT, PATCH and DELETE only', () => {
    expect(['POST', 'PUT', 'PATCH', 'DELETE', 'post'].map(needsCsrf)).toEqual([true, true, true, true, true]);
    expect(['GET', 'HEAD', 'OPTIONS'].map(needsCsrf)).toEqual([false, false, false]);
  });

  it('goes with every unsafe request and never with a GET', async () => {
    const { client, requests } = setup('secret-token');
    await client.GET('/api/notes');
    await client.POST('/api/notes', { body: { title: 't', body: '', tags: [] } });
    await client.PUT('/api/notes/{id}', { params: { path: { id: note.id }, header: { 'If-Match': '"3"' } }, body: { title: 't', body: '', tags: [] } });
    await client.DELETE('/api/notes/{id}', { params: { path: { id: note.id }, header: { 'If-Match': '"3"' } } });
    await client.POST('/api/auth/logout');
    expect(requests.map((r) => [r.method, r.headers.get(CSRF_HEADER)])).toEqual([
      ['GET', null],
      ['POST', 'secret-token'],
      ['PUT', 'secret-token'],
      ['DELETE', 'secret-token'],
      ['POST', 'secret-token'],
    ]);
  });

  it('is left out while there is no token (before log-in)', async () => {
    const { client, requests } = setup(null);
    await client.POST('/api/auth/login', { body: { email: 'a@b.c', password: 'x' } });
    expect(requests[0].headers.has(CSRF_HEADER)).toBe(false);
  });

  it('sends requests to the same origin with the session cookie', async () => {
    const { client, requests } = setup();
    await client.GET('/api/auth/me');
    expect(requests[0].url).toBe('http://app.test/api/auth/me');
    expect(requests[0].credentials).toBe('same-origin');
  });
});

describe('If-Match and Idempotency-Key', () => {
  it('passes If-Match on PUT and DELETE as given', async () => {
    const { client, requests } = setup();
    await client.PUT('/api/notes/{id}', { params: { path: { id: note.id }, header: { 'If-Match': '"7"' } }, body: { title: 't', body: '', tags: [] } });
    await client.DELETE('/api/notes/{id}', { params: { path: { id: note.id }, header: { 'If-Match': '"8"' } } });
    expect(requests.map((r) => r.headers.get('If-Match'))).toEqual(['"7"', '"8"']);
  });

  it('passes the Idempotency-Key on create', async () => {
    const { client, requests } = setup();
    await client.POST('/api/notes', { params: { header: { 'Idempotency-Key': 'key-1' } }, body: { title: 't', body: '', tags: [] } });
    expect(requests[0].headers.get('Idempotency-Key')).toBe('key-1');
    expect(await requests[0].json()).toEqual({ title: 't', body: '', tags: [] });
  });

  it('takes the strong ETag from the response', () => {
    expect(etagFor(new Response(null, { headers: { ETag: '"12"' } }), 12)).toBe('"12"');
  });

  it('rebuilds the strong ETag from the version when a proxy weakened it or dropped it', () => {
    expect(etagFor(new Response(null, { headers: { ETag: 'W/"12"' } }), 12)).toBe('"12"');
    expect(etagFor(new Response(null), '5')).toBe('"5"');
    expect(etagFor(undefined, 4)).toBe('"4"');
  });

  it('reuses a key only when the same submission is retried', () => {
    let n = 0;
    const keys = new IdempotencyKeys(() => `key-${++n}`);
    const first = keys.keyFor('{"title":"a"}');
    expect(keys.keyFor('{"title":"a"}')).toBe(first);
    const changed = keys.keyFor('{"title":"b"}');
    expect(changed).not.toBe(first);
    keys.succeeded();
    expect(keys.keyFor('{"title":"b"}')).not.toBe(changed);
  });

  it('makes random v4 UUIDs, also without crypto.randomUUID', () => {
    const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(randomUuid()).toMatch(pattern);
    // Shadow the prototype's method, as on a plain-http page of a non-local host.
    Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      const a = randomUuid();
      expect(a).toMatch(pattern);
      expect(randomUuid()).not.toBe(a);
    } finally {
      delete (crypto as { randomUUID?: unknown }).randomUUID;
    }
    expect(typeof crypto.randomUUID).toBe('function');
  });
});

describe('401 handling', () => {
  it('reports a 401 from any call as the session having ended', async () => {
    const { client, onUnauthenticated, respondWith } = setup();
    respondWith(() => problem(401, 'unauthenticated'));
    await client.GET('/api/notes');
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it('does not for a wrong password at log-in', async () => {
    const { client, onUnauthenticated, respondWith } = setup(null);
    respondWith(() => problem(401, 'invalid-credentials'));
    await client.POST('/api/auth/login', { body: { email: 'a@b.c', password: 'wrong' } });
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });
});

describe('call', () => {
  it('returns the data and the response', async () => {
    const { client, respondWith } = setup();
    respondWith(() => json(200, note, { ETag: '"3"' }));
    const { data, response } = await call(client.GET('/api/notes/{id}', { params: { path: { id: note.id } } }));
    expect(data.title).toBe('T');
    expect(response.headers.get('ETag')).toBe('"3"');
  });

  it('throws the mapped ApiError for an error response, with Retry-After', async () => {
    const { client, respondWith } = setup(null);
    respondWith(() => problem(429, 'throttled', {}, { 'Retry-After': '30' }));
    const error = await call(client.POST('/api/auth/login', { body: { email: 'a@b.c', password: 'x' } })).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe('Too many attempts. Try again in 30 seconds.');
  });

  it('throws field errors of a validation problem', async () => {
    const { client, respondWith } = setup();
    respondWith(() => problem(400, 'validation', { errors: { title: ['Title is required.'] } }));
    const error = await call(client.POST('/api/notes', { body: { title: '', body: '', tags: [] } })).catch((e) => e);
    expect(error.fieldErrors).toEqual({ title: ['Title is required.'] });
  });

  it('turns a fetch that never got an answer into "cannot reach the server"', async () => {
    const { client } = setup();
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    const error = await call(client.GET('/api/notes')).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe('network');
  });

  it('handles an error body that is not JSON', async () => {
    const { client, respondWith } = setup();
    respondWith(() => new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }));
    const error = await call(client.GET('/api/notes')).catch((e) => e);
    expect(error.kind).toBe('unavailable');
  });

  it('accepts a 204 without a body', async () => {
    const { client, respondWith } = setup();
    respondWith(() => new Response(null, { status: 204 }));
    await expect(call(client.POST('/api/auth/logout'))).resolves.toBeDefined();
  });
});
