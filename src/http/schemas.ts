/**
 * JSON Schemas of the HTTP API. They validate requests (strictly: no type
 * coercion, no unknown fields), drive response serialization, and are the
 * source of the OpenAPI document at /openapi.json.
 */
import { JOB_STATUSES } from '../contracts/job.js';
import { DEFAULTS, MAX_ATTEMPTS_LIMIT, NAME_PATTERN, PRIORITY_RANGE } from '../core/options.js';
import { MAX_DELAY_MS, MAX_RUN_AT_MS } from '../core/enqueue-input.js';

const name = { type: 'string', pattern: NAME_PATTERN.source, maxLength: 128 } as const;
const isoTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const enqueueBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { ...name, description: 'Handler name.' },
    payload: { description: 'Any JSON value; at most limits.maxPayloadBytes (default 1 MiB) as JSON.' },
    queue: { ...name, description: 'Queue name. Default "default".' },
    priority: { type: 'integer', minimum: PRIORITY_RANGE.min, maximum: PRIORITY_RANGE.max, description: 'Higher runs first. Default 0.' },
    maxAttempts: { type: 'integer', minimum: 1, maximum: MAX_ATTEMPTS_LIMIT, description: 'Default 3.' },
    timeoutMs: { type: ['integer', 'null'], minimum: 1, maximum: MAX_DELAY_MS, description: 'Per-attempt time limit. Default none.' },
    runAt: {
      anyOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 0, maximum: MAX_RUN_AT_MS },
      ],
      description: 'Earliest start: ISO 8601 date-time or epoch ms. Exclusive with delayMs.',
    },
    delayMs: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS, description: 'Earliest start relative to now.' },
  },
  // runAt and delayMs say the same thing two ways: one at most.
  not: { type: 'object', required: ['runAt', 'delayMs'], properties: { runAt: {}, delayMs: {} } },
} as const;

/** The seed's POST /enqueue: every field optional; no body enqueues the demo job. */
export const seedEnqueueBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: enqueueBody.properties,
  not: enqueueBody.not,
} as const;

export const jobErrorSchema = {
  type: 'object',
  required: ['attempt', 'message', 'at'],
  properties: {
    attempt: { type: 'integer' },
    message: { type: 'string' },
    stack: { type: 'string' },
    at: isoTime,
  },
} as const;

/** Every field of a job is always there, except payload and result, which listings leave out unless asked for. */
export const jobSchema = {
  $id: 'Job',
  type: 'object',
  required: ['id', 'queue', 'type', 'status', 'priority', 'attempts', 'maxAttempts', 'timeoutMs', 'runAt', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt', 'errors', 'progress', 'leaseExpiresAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    queue: { type: 'string' },
    type: { type: 'string' },
    payload: {},
    status: { type: 'string', enum: JOB_STATUSES },
    priority: { type: 'integer' },
    attempts: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    timeoutMs: { type: ['integer', 'null'] },
    runAt: isoTime,
    createdAt: isoTime,
    startedAt: isoTime,
    finishedAt: isoTime,
    updatedAt: isoTime,
    result: {},
    errors: { type: 'array', items: jobErrorSchema },
    progress: { type: ['number', 'null'] },
    leaseExpiresAt: isoTime,
  },
} as const;

export const jobSummarySchema = {
  $id: 'JobSummary',
  type: 'object',
  required: ['id', 'queue', 'type', 'status', 'runAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    queue: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', enum: JOB_STATUSES },
    runAt: isoTime,
  },
} as const;

/** Every error answer, one shared component. */
export const errorBodySchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable error code; see docs/errors.md.' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' } },
} as const;

export const queueParams = {
  type: 'object',
  required: ['name'],
  properties: { name },
} as const;

/** An integer in the query string: its validator coerces the text (bodies are never coerced). */
const pageLimit = { type: 'integer', minimum: 1, maximum: DEFAULTS.limits.maxPageSize } as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    queue: name,
    status: { type: 'string', enum: JOB_STATUSES },
    limit: { ...pageLimit, description: `Page size, 1..${DEFAULTS.limits.maxPageSize}. Default 50.` },
    cursor: { type: 'string', maxLength: 512, description: 'nextCursor of the previous page (of the same filter).' },
    include: {
      type: 'string',
      pattern: '^(payload|result)(,(payload|result))?$',
      description: 'Heavy fields to include: payload, result or both (comma-separated). Left out by default.',
    },
  },
} as const;

export const queueListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { ...pageLimit, description: `Page size, 1..${DEFAULTS.limits.maxPageSize}. Default 100.` },
    cursor: { type: 'string', maxLength: 512, description: 'nextCursor of the previous page.' },
  },
} as const;

export const queueInfoSchema = {
  type: 'object',
  required: ['name', 'paused', 'counts', 'unhandled'],
  properties: {
    name: { type: 'string' },
    paused: { type: 'boolean' },
    counts: {
      type: 'object',
      properties: Object.fromEntries(JOB_STATUSES.map((st) => [st, { type: 'integer' }])),
    },
    unhandled: { type: 'integer', description: 'Pending jobs of types no live node working this queue has a handler for.' },
    unhandledTypes: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

/** How long a finished status is kept, in ms; null keeps it forever. */
const keepMs = { type: ['integer', 'null'], minimum: 1, maximum: MAX_DELAY_MS } as const;

/** POST /v1/jobs/prune: an optional body; statuses it leaves out keep the server's retention. */
export const pruneBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    retention: {
      type: 'object',
      additionalProperties: false,
      properties: { completed: keepMs, failed: keepMs, cancelled: keepMs },
      description: "Milliseconds each finished status is kept (null: forever); a status left out keeps the server's retention.",
    },
    queue: { ...name, description: 'Only this queue.' },
  },
} as const;

const deletedCount = { type: 'integer', minimum: 0 } as const;

export const pruneAnswerSchema = {
  type: 'object',
  required: ['deleted', 'byStatus'],
  properties: {
    deleted: deletedCount,
    byStatus: { type: 'object', required: ['completed', 'failed', 'cancelled'], properties: { completed: deletedCount, failed: deletedCount, cancelled: deletedCount } },
  },
} as const;

/** The batch answer of POST /v1/jobs. */
export const jobBatchSchema = {
  $id: 'JobBatch',
  type: 'object',
  required: ['jobs'],
  properties: { jobs: { type: 'array', items: { $ref: 'JobSummary#' } } },
} as const;

export const jobPageSchema = {
  $id: 'JobPage',
  type: 'object',
  required: ['jobs', 'nextCursor'],
  properties: { jobs: { type: 'array', items: { $ref: 'Job#' } }, nextCursor: { type: ['string', 'null'] } },
} as const;

/** What each error status means, for the OpenAPI document; the body is always the shared Error component. */
export const ERROR_RESPONSES = {
  400: 'invalid_request or invalid_json: the message names the field and its rule',
  404: 'not_found: no job with this id',
  405: 'method_not_allowed: the path does not take this method; the Allow header lists those it takes',
  408: 'request_timeout: the request did not arrive whole within the request timeout',
  409: 'illegal_transition: the job is not in a status this operation applies to',
  413: 'payload_too_large or batch_too_large',
  415: 'unsupported_media_type: content-type must be application/json',
  429: 'capacity_exceeded: a store or queue limit is reached; retry later',
  431: 'headers_too_large: the request headers exceed the size limit',
  500: 'internal: an unexpected error (logged by the server)',
  503: 'shutting_down or store_unavailable: retry later, or on another node',
} as const;

export type ErrorStatus = keyof typeof ERROR_RESPONSES;

/** Answers any route can give: the method, the transport and the server's state. */
export const ALWAYS: readonly ErrorStatus[] = [405, 408, 431, 500, 503];
/** ... and any route that reads a body. */
export const WITH_BODY: readonly ErrorStatus[] = [...ALWAYS, 400, 413, 415];
