import { vi } from 'vitest';

/** A JSON response as the API sends it. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const contentType = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': contentType, ...headers },
  });
}

export function problem(status: number, type: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return json(status, { type: `urn:quartet:problem:${type}`, title: type, status, ...extra }, headers);
}

type Handler = (request: Request) => Response | Promise<Response>;

/** Replaces fetch with `handler` and records every request it sees. */
export function mockFetch(handler: Handler): Request[] {
  const requests: Request[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      requests.push(request.clone());
      return handler(request);
    }),
  );
  return requests;
}

export function path(request: Request): string {
  const url = new URL(request.url);
  return `${request.method} ${url.pathname}`;
}
