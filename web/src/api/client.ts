// The typed API client: openapi-fetch over the generated schema, plus the headers every call needs.
// Calls go to /api on the page's own origin with the session cookie; unsafe methods carry the CSRF token.

import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError, networkError, toApiError } from './errors';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type User = Schemas['UserResponse'];
export type Note = Schemas['NoteResponse'];
export type NoteSummary = Schemas['NoteSummary'];
export type NotePage = Schemas['NotePage'];
export type NoteRequest = Schemas['NoteRequest'];
export type Session = Schemas['SessionResponse'];
export type AdminUser = Schemas['AdminUser'];
export type UserPage = Schemas['UserPage'];

export const CSRF_HEADER = 'X-CSRF-Token';

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Methods the API's CSRF check applies to (RFC 9110 "unsafe" methods). */
export function needsCsrf(method: string): boolean {
  return unsafeMethods.has(method.toUpperCase());
}

/** Requests whose 401 means "wrong password", not "your session is gone". */
function isCredentialCheck(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return request.method === 'POST' && (path === '/api/auth/login' || path === '/api/auth/token');
}

export interface ApiOptions {
  /** Where /api lives; the page's own origin in the app. */
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  /** The CSRF token of the current session, kept in memory only. */
  csrfToken: () => string | null;
  /** Any 401 outside a credential check: the session ended behind the app's back. */
  onUnauthenticated: () => void;
}

export type ApiClient = Client<paths>;

export function createApiClient(options: ApiOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? globalThis.location?.origin ?? '',
    credentials: 'same-origin',
    // Always revalidate: the API's ETags make that cheap, and a stale note must never be edited.
    cache: 'no-cache',
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
  });
  const middleware: Middleware = {
    onRequest({ request }) {
      const token = options.csrfToken();
      if (token && needsCsrf(request.method) && !request.headers.has(CSRF_HEADER)) {
        request.headers.set(CSRF_HEADER, token);
      }
      return request;
    },
    onResponse({ request, response }) {
      if (response.status === 401 && !isCredentialCheck(request)) {
        options.onUnauthenticated();
      }
      return response;
    },
  };
  client.use(middleware);
  return client;
}

type Outcome<D> = { data?: D; error?: unknown; response: Response };

/**
 * Awaits an openapi-fetch call and returns its data, or throws an ApiError that says what went wrong
 * in words for the user (see errors.ts). A fetch that never got a response becomes a "network" error.
 */
export async function call<D>(pending: Promise<Outcome<D>>): Promise<{ data: D; response: Response }> {
  let outcome: Outcome<D>;
  try {
    outcome = await pending;
  } catch (error) {
    if (error instanceof ApiError || (error instanceof DOMException && error.name === 'AbortError')) {
      throw error;
    }
    throw networkError();
  }
  const { response } = outcome;
  if (!response.ok) {
    throw toApiError(response.status, outcome.error, response.headers);
  }
  return { data: outcome.data as D, response };
}

/**
 * The validator to send in If-Match. The API's ETag is the strong `"<version>"`; a proxy that
 * compresses the response may weaken it to `W/"<version>"`, which If-Match never matches
 * (RFC 9110 §13.1.1), so the version in the body rebuilds the strong form.
 */
export function etagFor(response: Response | null | undefined, version: number | string): string {
  const header = response?.headers.get('ETag');
  return header && !header.startsWith('W/') ? header : `"${String(version)}"`;
}

/** A random UUID, also where crypto.randomUUID is missing (plain http on a non-local host). */
export function randomUuid(): string {
  if (typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Idempotency-Key for a create form: a new key for each new submission, the same key when the user
 * retries the very same submission after it failed, so a request that did reach the server is not
 * applied twice. `succeeded()` forgets the key.
 */
export class IdempotencyKeys {
  private key: string | null = null;
  private fingerprint: string | null = null;

  constructor(private readonly newKey: () => string = randomUuid) {}

  keyFor(fingerprint: string): string {
    if (this.key === null || this.fingerprint !== fingerprint) {
      this.key = this.newKey();
      this.fingerprint = fingerprint;
    }
    return this.key;
  }

  succeeded(): void {
    this.key = null;
    this.fingerprint = null;
  }
}
