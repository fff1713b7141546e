import { describe, expect, it } from 'vitest';
import {
  ApiError,
  asProblem,
  formatWait,
  messages,
  networkError,
  parseRetryAfter,
  splitFieldErrors,
  toApiError,
  toDisplayError,
} from './errors';

const p = (type: string, extra: Record<string, unknown> = {}) => ({ type: `urn:quartet:problem:${type}`, title: type, ...extra });
const headers = (values: Record<string, string>) => new Headers(values);

describe('toApiError', () => {
  it('puts field errors of a 400 validation problem beside their fields', () => {
    const error = toApiError(400, p('validation', { errors: { email: ['Email is required.'], 'tags[2]': ['A tag is 1 to 32 characters.'] } }));
    expect(error.kind).toBe('validation');
    expect(error.message).toBe(messages.validation);
    expect(error.fieldErrors).toEqual({ email: ['Email is required.'], 'tags[2]': ['A tag is 1 to 32 characters.'] });
    expect(error.status).toBe(400);
  });

  it('shows the detail of a 400 without field errors (malformed request)', () => {
    const error = toApiError(400, { title: 'Malformed request', detail: 'The request body is not valid JSON.' });
    expect(error.kind).toBe('bad-request');
    expect(error.message).toBe('The request body is not valid JSON.');
  });

  it('says the password is wrong for a 401 invalid-credentials', () => {
    const error = toApiError(401, p('invalid-credentials', { detail: 'The email or password is wrong.' }));
    expect(error.kind).toBe('invalid-credentials');
    expect(error.message).toBe('The email or password is wrong.');
  });

  it.each([p('unauthenticated'), p('invalid-token'), undefined, 'not json'])('treats any other 401 as a session that ended (%s)', (body) => {
    const error = toApiError(401, body);
    expect(error.kind).toBe('session-ended');
    expect(error.message).toBe('Your session has ended. Log in again.');
  });

  it('explains a refused CSRF token and says to reload', () => {
    const error = toApiError(403, p('csrf', { detail: 'Send the X-CSRF-Token header with the token from GET /api/auth/csrf.' }));
    expect(error.kind).toBe('csrf');
    expect(error.message).toBe("Your session's security token was refused. Reload the page, then try again.");
  });

  it('says a 403 forbidden is not allowed', () => {
    expect(toApiError(403, p('forbidden')).message).toBe('You are not allowed to do this.');
    expect(toApiError(403, p('forbidden')).kind).toBe('forbidden');
  });

  it('says a 404 is not found', () => {
    const error = toApiError(404, p('not-found', { detail: 'No note with that id.' }));
    expect(error.kind).toBe('not-found');
    expect(error.message).toBe(messages.notFound);
  });

  it('shows the API’s own words for a 409 conflict, and a generic text without them', () => {
    expect(toApiError(409, p('conflict', { detail: 'An account with that email already exists.' })).message).toBe(
      'An account with that email already exists.',
    );
    expect(toApiError(409, undefined).message).toBe(messages.conflict);
    expect(toApiError(409, p('conflict')).kind).toBe('conflict');
  });

  it('shows the detail of a 409 note quota', () => {
    const error = toApiError(409, p('quota-exceeded', { detail: 'You have 1000 notes, the most an account may keep.' }));
    expect(error.kind).toBe('conflict');
    expect(error.message).toBe('You have 1000 notes, the most an account may keep.');
  });

  it('explains a 412 as a conflicting change', () => {
    const error = toApiError(412, p('precondition-failed'));
    expect(error.kind).toBe('stale');
    expect(error.message).toMatch(/^Someone changed this since you opened it/);
  });

  it('explains a 413', () => {
    expect(toApiError(413, p('payload-too-large')).kind).toBe('too-large');
    expect(toApiError(413, undefined).message).toBe(messages.tooLarge);
  });

  it('explains a 422 idempotency key reused, and shows the detail of another 422', () => {
    expect(toApiError(422, p('idempotency-key-reused')).message).toBe(messages.idempotencyMismatch);
    expect(toApiError(422, { detail: 'Cannot process.' }).message).toBe('Cannot process.');
    expect(toApiError(422, undefined).kind).toBe('unprocessable');
  });

  it('explains a 428', () => {
    const error = toApiError(428, p('precondition-required'));
    expect(error.kind).toBe('precondition-required');
    expect(error.message).toBe(messages.preconditionRequired);
  });

  it('gives the wait of a 429 from Retry-After', () => {
    const error = toApiError(429, p('throttled', { detail: 'Too many failed logins. Try again in 840 seconds.' }), headers({ 'Retry-After': '840' }));
    expect(error.kind).toBe('throttled');
    expect(error.retryAfterSeconds).toBe(840);
    expect(error.message).toBe('Too many attempts. Try again in 14 minutes.');
  });

  it('still explains a 429 without Retry-After', () => {
    expect(toApiError(429, undefined).message).toBe('Too many attempts. Wait a while, then try again.');
  });

  it('says a 503 is a temporary outage, with the wait when given', () => {
    expect(toApiError(503, p('unavailable')).message).toBe('The service is temporarily unavailable. Try again in a moment.');
    expect(toApiError(503, p('unavailable'), headers({ 'Retry-After': '5' })).message).toBe(
      'The service is temporarily unavailable. Try again in 5 seconds.',
    );
    expect(toApiError(503, undefined).kind).toBe('unavailable');
  });

  it.each([502, 504])('treats a %i from the proxy (HTML body) as the service being unavailable', (status) => {
    const error = toApiError(status, '<html><body>Bad Gateway</body></html>');
    expect(error.kind).toBe('unavailable');
    expect(error.message).toBe(messages.unavailable);
  });

  it('says a 500 went wrong on the server, with the request id to quote', () => {
    expect(toApiError(500, { title: 'Internal server error', requestId: 'abc123' }).message).toBe(`${messages.server} (Reference: abc123)`);
    expect(toApiError(500, undefined).message).toBe(messages.server);
    expect(toApiError(500, undefined).kind).toBe('server');
  });

  it('names the status of anything else', () => {
    expect(toApiError(418, undefined).message).toBe('The request failed (HTTP 418).');
  });

  it('is an Error with the message', () => {
    const error = toApiError(404, undefined);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toBeInstanceOf(Error);
  });
});

describe('network errors', () => {
  it('say the server cannot be reached', () => {
    expect(networkError().kind).toBe('network');
    expect(networkError().status).toBe(0);
    expect(networkError().message).toBe('Cannot reach the server. Check your connection and try again.');
  });

  it('come from a fetch TypeError', () => {
    expect(toDisplayError(new TypeError('Failed to fetch')).kind).toBe('network');
  });

  it('leave an ApiError as it is and word anything else generically', () => {
    const error = toApiError(404, undefined);
    expect(toDisplayError(error)).toBe(error);
    expect(toDisplayError(new Error('boom')).kind).toBe('unexpected');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(' 0 ')).toBe(0);
  });

  it('reads an HTTP-date relative to now', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:02:30 GMT', now)).toBe(150);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
});

describe('formatWait', () => {
  it.each([
    [0, '1 second'],
    [1, '1 second'],
    [14, '14 seconds'],
    [59, '59 seconds'],
    [60, '1 minute'],
    [61, '2 minutes'],
    [840, '14 minutes'],
    [900, '15 minutes'],
    [3599, '1 hour'],
    [3600, '1 hour'],
    [3660, '1 hour and 1 minute'],
    [7500, '2 hours and 5 minutes'],
  ])('%i seconds read as "%s", rounded up', (seconds, text) => {
    expect(formatWait(seconds)).toBe(text);
  });
});

describe('asProblem', () => {
  it('takes parsed JSON, JSON text, and nothing else', () => {
    expect(asProblem({ type: 'x' })).toEqual({ type: 'x' });
    expect(asProblem('{"type":"x"}')).toEqual({ type: 'x' });
    expect(asProblem('Bad Gateway')).toBeUndefined();
    expect(asProblem(null)).toBeUndefined();
    expect(asProblem([1])).toBeUndefined();
  });
});

describe('splitFieldErrors', () => {
  it('puts errors beside known fields, indexed ones under their field, and the rest aside', () => {
    const { byField, other } = splitFieldErrors(
      {
        title: ['Title is required.'],
        'tags[0]': ['A tag is 1 to 32 characters with no spaces or commas.'],
        'Idempotency-Key': ['An Idempotency-Key is 1 to 255 visible ASCII characters.'],
        cursor: ['The cursor is not one this API handed out.'],
        limit: ['Must be 1 to 100.'],
      },
      ['title', 'body', 'tags'],
      { tags: 'Tag' },
    );
    expect(byField).toEqual({
      title: ['Title is required.'],
      tags: ['Tag 1: A tag is 1 to 32 characters with no spaces or commas.'],
    });
    expect(other).toEqual([
      'An Idempotency-Key is 1 to 255 visible ASCII characters.',
      'The cursor is not one this API handed out.',
      'limit: Must be 1 to 100.',
    ]);
  });
});
