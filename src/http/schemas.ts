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
  not: { type: 'object', required: ['runAt', 'delayMs'] },
} as const;

/** The seed's POST /enqueue: every field optional; no body enqueues the demo job. */
export const seedEnqueueBody = {
  ...enqueueBody,
  required: [],
  type: ['object', 'null'],
} as const;

export const jobErrorSchema = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    message: { type: 'string' },
    stack: { type: 'string' },
    at: isoTime,
  },
} as const;

export const jobSchema = {
  $id: 'Job',
  type: 'object',
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
  type: 'object',
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

export const errorSchema = { $ref: 'Error#' } as const;

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

const pageLimit = { type: 'string', pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$' } as const;

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

/** Error answers every route may give. */
export const commonErrors = {
  400: errorSchema,
  413: errorSchema,
  415: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;
