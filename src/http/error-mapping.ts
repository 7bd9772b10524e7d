/**
 * The one place that maps errors to HTTP answers. Every answer has the shape
 * {"error":{"code","message"}}; no stack traces, SQL, file paths or payload
 * text ever reach a client.
 */
import type { FastifyError } from 'fastify';
import { JobqError, type ErrorCode } from '../contracts/errors.js';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  batch_too_large: 413,
  headers_too_large: 431,
  request_timeout: 408,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  illegal_transition: 409,
  lease_lost: 409,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  unknown_dependency: 422,
  capacity_exceeded: 429,
  shutting_down: 503,
  timeout: 504,
  store_unavailable: 503,
  invalid_option: 500,
  internal: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export interface MappedError {
  status: number;
  body: ErrorBody;
}

function answer(code: ErrorCode, message: string, details?: Record<string, unknown>): MappedError {
  const body: ErrorBody = { error: { code, message } };
  if (details) body.error.details = details;
  return { status: HTTP_STATUS[code], body };
}

/** Fastify's own client-error codes and what they mean to a jobq client. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

export function mapError(err: unknown): MappedError {
  if (err instanceof JobqError) {
    // invalid_option is a server-side misconfiguration, never the client's fault.
    return err.code === 'invalid_option' ? answer('internal', 'internal error') : answer(err.code, err.message, err.details);
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (fe.validation) return answer('invalid_request', fe.message ?? 'invalid request');
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return answer('invalid_json', 'body is not valid JSON, or it uses a forbidden key (__proto__, constructor.prototype)');
  }
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known === 'unsupported_media_type') return answer(known, 'content-type must be application/json');
  if (known) return answer(known, fe.message ?? known);
  if (err instanceof SyntaxError) return answer('invalid_json', 'body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // e.g. prototype-poisoning keys rejected by the JSON parser.
    return { status: fe.statusCode, body: { error: { code: 'invalid_request', message: fe.message ?? 'invalid request' } } };
  }
  return answer('internal', 'internal error');
}
