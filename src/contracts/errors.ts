/**
 * One error type with a stable `code` for everything jobq reports on purpose.
 * `http/error-mapping.ts` is the one place that maps codes to HTTP statuses,
 * and docs/errors.md lists them all (a test keeps the two in sync).
 */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'batch_too_large',
  'headers_too_large',
  'request_timeout',
  'not_found',
  'route_not_found',
  'method_not_allowed',
  'illegal_transition',
  'lease_lost',
  'conflict',
  'unauthorized',
  'forbidden',
  'unknown_dependency',
  'capacity_exceeded',
  'shutting_down',
  'timeout',
  'store_unavailable',
  'invalid_option',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class JobqError extends Error {
  readonly code: ErrorCode;
  /** Extra structured detail safe to show a client (e.g. the bad field). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobqError';
    this.code = code;
    this.details = options.details;
  }
}

export function isJobqError(err: unknown, code?: ErrorCode): err is JobqError {
  return err instanceof JobqError && (code === undefined || err.code === code);
}

/**
 * Thrown by a handler (or any error with `permanent: true`) to fail a job at
 * once, without spending its remaining attempts.
 */
export class PermanentJobError extends Error {
  readonly permanent = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/**
 * Thrown by a handler when the remote side is throttling: the job goes back
 * in line without spending an attempt, and its rate key (or, with
 * `scope: 'queue'` or no key, the whole queue) starts nothing for
 * `retryAfterMs`.
 */
export class RateLimitedError extends Error {
  readonly rateLimited = true;
  readonly retryAfterMs: number;
  readonly scope: 'key' | 'queue';
  constructor(options: { retryAfterMs: number; scope?: 'key' | 'queue'; message?: string }) {
    super(options.message ?? `rate limited; retry after ${options.retryAfterMs} ms`);
    this.name = 'RateLimitedError';
    this.retryAfterMs = Math.max(0, Math.floor(options.retryAfterMs));
    this.scope = options.scope ?? 'key';
  }
}

export function isRateLimited(err: unknown): err is RateLimitedError {
  return typeof err === 'object' && err !== null && (err as { rateLimited?: unknown }).rateLimited === true && typeof (err as { retryAfterMs?: unknown }).retryAfterMs === 'number';
}

export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}
