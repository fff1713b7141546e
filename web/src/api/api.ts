// The app's one API client and the session facts it needs. The CSRF token lives in memory only: after a
// reload it is fetched again from GET /api/auth/csrf once GET /api/auth/me says the session is alive.

import { createApiClient } from './client';

let csrfToken: string | null = null;
const unauthenticatedListeners = new Set<() => void>();

export const csrf = {
  get: (): string | null => csrfToken,
  set(token: string | null): void {
    csrfToken = token;
  },
};

/** Subscribes to "a call answered 401"; returns the unsubscribe function. */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export const api = createApiClient({
  csrfToken: csrf.get,
  onUnauthenticated: () => unauthenticatedListeners.forEach((listener) => listener()),
});
