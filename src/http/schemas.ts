/**
 * JSON Schemas of the HTTP API. They validate requests (strictly: no type
 * coercion, no unknown fields), drive response serialization, and are the
 * source of the OpenAPI document at /openapi.json.
 */
import { JOB_STATUSES } from '../contracts/job.js';
import { DEFAULTS, MAX_ATTEMPTS_LIMIT, NAME_PATTERN, PRIORITY_RANGE } from '../core/options.js';
import { MAX_DELAY_MS, MAX_DEPENDENCIES, MAX_KEY_LENGTH, MAX_RUN_AT_MS } from '../core/enqueue-input.js';
import { CATCH_UP_MODES } from '../contracts/store.js';
import { DEPENDENCY_POLICIES } from '../contracts/job.js';

const name = { type: 'string', pattern: NAME_PATTERN.source, maxLength: 128 } as const;
const isoTime = { type: ['string', 'null'], format: 'date-time' } as const;
const jobKey = { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH } as const;
const uuid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' } as const;

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
    key: { ...jobKey, description: 'Unique key: while a job with this key is active (and uniqueForMs after its creation), an enqueue with it answers that job (200, deduplicated).' },
    uniqueForMs: { type: 'integer', minimum: 1, maximum: MAX_DELAY_MS, description: 'Keep the key taken this long after creation, even once the job ended. Needs key.' },
    onConflict: { type: 'string', enum: ['ignore', 'replace'], description: "With a held key: 'ignore' answers the holder; 'replace' updates a holder that has not started (payload, priority, run time). Default 'ignore'." },
    dependsOn: {
      type: 'array',
      maxItems: MAX_DEPENDENCIES,
      items: { anyOf: [uuid, { type: 'integer', minimum: 0 }] },
      description: 'Jobs this one waits for (status waiting until all completed): ids of stored jobs, or indexes of earlier jobs of the same batch.',
    },
    onDependencyFailure: { type: 'string', enum: DEPENDENCY_POLICIES, description: "When a dependency fails for good or is cancelled: 'fail' or 'cancel' this job too, or 'ignore' and run it. Default 'fail'." },
    concurrencyKey: { ...jobKey, description: "Flow control: at most the queue's perKeyConcurrency jobs of one key run at once, and keys are served fairly (each idle key in turn, then the least used)." },
    rateKey: { ...jobKey, description: "Flow control: the key the queue's perKeyRateLimit counts by. Default: concurrencyKey." },
    orderingKey: { ...jobKey, description: 'FIFO per key: one job of the key at a time, in enqueue order (Postgres only).' },
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
    key: { type: ['string', 'null'] },
    dependsOn: { type: 'array', items: { type: 'string' } },
    concurrencyKey: { type: ['string', 'null'] },
    rateKey: { type: ['string', 'null'] },
    deduplicated: { type: 'boolean', description: 'Enqueue answers only: true when the key was held and this is the holder (200).' },
    replaced: { type: 'boolean', description: "Enqueue answers only: true when onConflict 'replace' updated the holder." },
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
    deduplicated: { type: 'boolean', description: 'Present and true when the key was held: this is the holder.' },
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
    type: { ...name, description: 'Only jobs of this type.' },
    key: { ...jobKey, description: 'Only the jobs with this key (exact).' },
    createdAfter: { type: 'string', format: 'date-time', description: 'Only jobs created at or after this time (ISO 8601).' },
    createdBefore: { type: 'string', format: 'date-time', description: 'Only jobs created before this time (ISO 8601).' },
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
    settings: { $ref: 'QueueSettings#' },
  },
} as const;

const rateLimit = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['max', 'intervalMs'],
  properties: { max: { type: 'integer', minimum: 1, maximum: 1_000_000 }, intervalMs: { type: 'integer', minimum: 1, maximum: MAX_DELAY_MS } },
} as const;
const slots = { type: ['integer', 'null'], minimum: 1, maximum: 1_000_000 } as const;

/** A queue's cluster-wide flow control; null: no limit. */
export const queueSettingsSchema = {
  $id: 'QueueSettings',
  type: 'object',
  required: ['concurrency', 'perKeyConcurrency', 'rateLimit', 'perKeyRateLimit'],
  properties: {
    concurrency: { ...slots, description: "At most this many jobs of the queue processing at once, across all nodes (each node's own concurrency still caps it locally)." },
    perKeyConcurrency: { ...slots, description: 'At most this many jobs of one concurrencyKey processing at once.' },
    rateLimit: { ...rateLimit, description: 'At most max job starts in any window of intervalMs, for the queue.' },
    perKeyRateLimit: { ...rateLimit, description: 'The same per rateKey.' },
  },
} as const;

/** PATCH /v1/queues/{name}: fields left out keep their value; null removes a limit. */
export const queueSettingsBody = { type: 'object', additionalProperties: false, minProperties: 1, properties: queueSettingsSchema.properties } as const;

/** The job a schedule enqueues at each slot. */
const scheduledJob = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: enqueueBody.properties.type,
    payload: enqueueBody.properties.payload,
    queue: enqueueBody.properties.queue,
    priority: enqueueBody.properties.priority,
    maxAttempts: enqueueBody.properties.maxAttempts,
    timeoutMs: enqueueBody.properties.timeoutMs,
  },
} as const;

/** PUT /v1/schedules/{name}. */
export const scheduleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['cron', 'job'],
  properties: {
    cron: { type: 'string', minLength: 1, maxLength: 256, description: 'Five fields (minute hour day month weekday), or six with seconds first.' },
    tz: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone the cron expression is read in. Default UTC.' },
    job: scheduledJob,
    catchUp: { type: 'string', enum: CATCH_UP_MODES, description: "After downtime: 'none' (default) enqueues no slot missed by more than a minute, 'latest' the most recent, 'all' every one (at most 1,000)." },
    paused: { type: 'boolean', description: 'Default false.' },
  },
} as const;

export const scheduleSchema = {
  $id: 'Schedule',
  type: 'object',
  required: ['name', 'cron', 'tz', 'job', 'catchUp', 'paused', 'nextRunAt', 'lastRunAt', 'lastJobId', 'createdAt', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    cron: { type: 'string' },
    tz: { type: 'string' },
    job: { type: 'object', additionalProperties: true },
    catchUp: { type: 'string', enum: CATCH_UP_MODES },
    paused: { type: 'boolean' },
    nextRunAt: isoTime,
    lastRunAt: isoTime,
    lastJobId: { type: ['string', 'null'] },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

/** POST /v1/flows: a parent job and its children (and theirs); the parent waits until every child completed. */
export const flowBody = {
  $id: 'FlowNode',
  type: 'object',
  additionalProperties: false,
  required: ['job'],
  properties: {
    job: { type: 'object', additionalProperties: false, required: ['type'], properties: enqueueBody.properties, not: enqueueBody.not },
    children: { type: 'array', maxItems: 1000, items: { $ref: 'FlowNode#' } },
  },
} as const;

export const flowAnswerSchema = {
  $id: 'FlowAnswer',
  type: 'object',
  required: ['job', 'children'],
  properties: { job: { $ref: 'JobSummary#' }, children: { type: 'array', items: { $ref: 'FlowAnswer#' } } },
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
  401: 'unauthorized: no valid API token (Authorization: Bearer …); see the WWW-Authenticate header',
  403: "forbidden: the token lacks the route's scope, or may not touch this queue",
  404: 'not_found: no job with this id',
  405: 'method_not_allowed: the path does not take this method; the Allow header lists those it takes',
  408: 'request_timeout: the request did not arrive whole within the request timeout',
  409: 'illegal_transition (the job is not in a status this operation applies to), conflict, or lease_lost (the lease token no longer holds the job: nothing changed)',
  413: 'payload_too_large or batch_too_large',
  415: 'unsupported_media_type: content-type must be application/json',
  422: 'unknown_dependency: dependsOn names a job that does not exist',
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
