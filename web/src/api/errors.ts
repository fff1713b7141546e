// The one place where an API failure becomes words for the user. Pages show `message` in an alert and
// `fieldErrors` beside their inputs; `kind` lets them react (back to log-in on "session-ended", offer a
// reload on "conflict").

const PROBLEM = 'urn:quartet:problem:';

export const ProblemType = {
  validation: `${PROBLEM}validation`,
  badRequest: `${PROBLEM}bad-request`,
  unauthenticated: `${PROBLEM}unauthenticated`,
  invalidCredentials: `${PROBLEM}invalid-credentials`,
  invalidToken: `${PROBLEM}invalid-token`,
  forbidden: `${PROBLEM}forbidden`,
  csrf: `${PROBLEM}csrf`,
  notFound: `${PROBLEM}not-found`,
  conflict: `${PROBLEM}conflict`,
  payloadTooLarge: `${PROBLEM}payload-too-large`,
  preconditionFailed: `${PROBLEM}precondition-failed`,
  preconditionRequired: `${PROBLEM}precondition-required`,
  idempotencyMismatch: `${PROBLEM}idempotency-key-reused`,
  throttled: `${PROBLEM}throttled`,
  unavailable: `${PROBLEM}unavailable`,
  notReady: `${PROBLEM}not-ready`,
  invalidLink: `${PROBLEM}invalid-link`,
  emailUnverified: `${PROBLEM}email-unverified`,
} as const;

export type ErrorKind =
  | 'validation'
  | 'bad-request'
  | 'invalid-link'
  | 'invalid-credentials'
  | 'session-ended'
  | 'csrf'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'stale'
  | 'precondition-required'
  | 'unprocessable'
  | 'too-large'
  | 'throttled'
  | 'unavailable'
  | 'server'
  | 'network'
  | 'unexpected';

/** RFC 9457 problem details as Quartet sends them; every member may be missing. */
export interface Problem {
  type?: string | null;
  title?: string | null;
  status?: number | string | null;
  detail?: string | null;
  instance?: string | null;
  requestId?: string;
  errors?: Record<string, string[]>;
}

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly kind: ErrorKind;
  /** 0 when no response came back. */
  readonly status: number;
  readonly fieldErrors: FieldErrors;
  readonly problem: Problem | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    kind: ErrorKind;
    status: number;
    message: string;
    fieldErrors?: FieldErrors;
    problem?: Problem;
    retryAfterSeconds?: number;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.kind = init.kind;
    this.status = init.status;
    this.fieldErrors = init.fieldErrors ?? {};
    this.problem = init.problem;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The body of an error response as openapi-fetch hands it over: parsed JSON, text, or nothing. */
export function asProblem(body: unknown): Problem | undefined {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Problem) : undefined;
}

/**
 * Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null || value.trim() === '') {
    return undefined;
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    return Number(text);
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"; anything else is not a Retry-After value.
  const date = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** "14 minutes", "1 hour and 5 minutes", "30 seconds": rounded up, so the user never retries too early. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) {
    return plural(s, 'second');
  }
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) {
    return plural(minutes, 'minute');
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} and ${plural(rest, 'minute')}`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

export const messages = {
  network: 'Cannot reach the server. Check your connection and try again.',
  validation: 'Some fields need attention.',
  invalidCredentials: 'The email or password is wrong.',
  sessionEnded: 'Your session has ended. Log in again.',
  csrf: "Your session's security token was refused. Reload the page, then try again.",
  forbidden: 'You are not allowed to do this.',
  notFound: 'Not found: it may have been deleted.',
  conflict: 'This conflicts with the current state. Reload and try again.',
  stale: 'Someone changed this since you opened it, so your version was not saved. Reload to see the current version.',
  preconditionRequired: 'The change was sent without the version it was based on. Reload, then try again.',
  idempotencyMismatch: 'This submission was already used for different content. Submit it again.',
  unprocessable: 'The server could not process this request.',
  tooLarge: 'That is too large to send. Shorten it and try again.',
  unavailable: 'The service is temporarily unavailable. Try again in a moment.',
  server: 'Something went wrong on the server. Try again later.',
  invalidLink: 'This link does not work any more: it is unknown, expired, already used, or meant for another account. Ask for a new one.',
  emailUnverified: 'Confirm your email address first: follow the link in the mail we sent, or ask for a new one on your account page.',
} as const;

/** The ApiError for an HTTP error response. */
export function toApiError(status: number, body: unknown, headers?: Headers | null, now?: number): ApiError {
  const problem = asProblem(body);
  const type = problem?.type ?? '';
  const retryAfterSeconds = parseRetryAfter(headers?.get('Retry-After'), now);
  const make = (kind: ErrorKind, message: string, fieldErrors?: FieldErrors) =>
    new ApiError({ kind, status, message, fieldErrors, problem, retryAfterSeconds });

  switch (status) {
    case 400: {
      const fields = problem?.errors && typeof problem.errors === 'object' ? problem.errors : undefined;
      if (fields && Object.keys(fields).length > 0) {
        return make('validation', messages.validation, fields);
      }
      if (type === ProblemType.invalidLink) {
        return make('invalid-link', messages.invalidLink);
      }
      return make('bad-request', detailOr(problem, 'The request was not accepted.'));
    }
    case 401:
      return type === ProblemType.invalidCredentials
        ? make('invalid-credentials', messages.invalidCredentials)
        : make('session-ended', messages.sessionEnded);
    case 403:
      if (type === ProblemType.emailUnverified) {
        return make('forbidden', messages.emailUnverified);
      }
      return type === ProblemType.csrf ? make('csrf', messages.csrf) : make('forbidden', messages.forbidden);
    case 404:
      return make('not-found', messages.notFound);
    case 409:
      // A retried create is answered from PostgreSQL once its first attempt commits (no 409 "in
      // progress" any more); a 409 on a create is the note quota, whose detail says which limit.
      return make('conflict', detailOr(problem, messages.conflict));
    case 412:
      return make('stale', messages.stale);
    case 413:
      return make('too-large', messages.tooLarge);
    case 422:
      return type === ProblemType.idempotencyMismatch
        ? make('unprocessable', messages.idempotencyMismatch)
        : make('unprocessable', detailOr(problem, messages.unprocessable));
    case 428:
      return make('precondition-required', messages.preconditionRequired);
    case 429:
      return make(
        'throttled',
        retryAfterSeconds === undefined
          ? 'Too many attempts. Wait a while, then try again.'
          : `Too many attempts. Try again in ${formatWait(retryAfterSeconds)}.`,
      );
    // 502 and 504 come from the proxy when the backend is down or slow: to the user that is the same outage.
    case 502:
    case 503:
    case 504:
      return make(
        'unavailable',
        retryAfterSeconds === undefined
          ? messages.unavailable
          : `The service is temporarily unavailable. Try again in ${formatWait(retryAfterSeconds)}.`,
      );
  }
  if (status >= 500) {
    return make('server', problem?.requestId ? `${messages.server} (Reference: ${problem.requestId})` : messages.server);
  }
  return make('unexpected', detailOr(problem, `The request failed (HTTP ${status}).`));
}

/** The ApiError for a request that got no response at all (fetch rejected). */
export function networkError(): ApiError {
  return new ApiError({ kind: 'network', status: 0, message: messages.network });
}

/** Any thrown value as an ApiError, so a page has one thing to show. */
export function toDisplayError(error: unknown): ApiError {
  if (error instanceof ApiError) {
    return error;
  }
  if (error instanceof TypeError) {
    return networkError();
  }
  return new ApiError({ kind: 'unexpected', status: 0, message: 'Something went wrong. Reload the page and try again.' });
}

function detailOr(problem: Problem | undefined, fallback: string): string {
  return typeof problem?.detail === 'string' && problem.detail.trim() !== '' ? problem.detail : fallback;
}

/**
 * Splits field errors into those a form shows beside its inputs and the rest (shown with the main
 * message). Indexed keys such as `tags[2]` belong to the field `tags`.
 */
export function splitFieldErrors(
  errors: FieldErrors,
  fields: readonly string[],
  itemLabels: Readonly<Record<string, string>> = {},
): { byField: Record<string, string[]>; other: string[] } {
  const byField: Record<string, string[]> = {};
  const other: string[] = [];
  for (const [key, list] of Object.entries(errors)) {
    const match = /^([^[\]]+)\[(\d+)\]$/.exec(key);
    const field = match ? match[1] : key;
    const lines = match ? list.map((m) => `${itemLabels[field] ?? 'Item'} ${Number(match[2]) + 1}: ${m}`) : list;
    if (fields.includes(field)) {
      (byField[field] ??= []).push(...lines);
    } else {
      other.push(...lines.map((m) => (m.toLowerCase().includes(key.toLowerCase()) ? m : `${key}: ${m}`)));
    }
  }
  return { byField, other };
}
