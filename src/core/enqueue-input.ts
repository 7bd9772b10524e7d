/**
 * What callers may ask for when enqueueing, and the one function that turns
 * it into a stored record. The HTTP schemas check shapes; this checks meaning,
 * for HTTP and library callers alike.
 */
import type { JobTypes } from './handler.js';
import { v7 as uuidv7 } from 'uuid';
import { JobqError } from '../contracts/errors.js';
import { DEPENDENCY_POLICIES, type DependencyPolicy } from '../contracts/job.js';
import type { NewJobRecord } from '../contracts/store.js';
import { JsonText } from './json-text.js';
import { checkJsonShape } from './json-shape.js';
import type { ResolvedOptions } from './options.js';
import { MAX_ATTEMPTS_LIMIT, MAX_DELAY_MS, MAX_DEPENDENCIES, MAX_KEY_LENGTH, MAX_RUN_AT_MS, NAME_PATTERN, PRIORITY_RANGE } from './input-limits.js';

export interface EnqueueInput<Payload = unknown> {
  /** Handler name. */
  type: string;
  /** Any JSON value. @defaultValue null */
  payload?: Payload;
  /** @defaultValue 'default' */
  queue?: string;
  /** Higher runs first. @defaultValue 0 */
  priority?: number;
  /** @defaultValue 3 */
  maxAttempts?: number;
  /** Per-attempt limit in ms. @defaultValue none */
  timeoutMs?: number | null;
  /** Earliest start: epoch ms, Date or ISO string. Exclusive with delayMs. */
  runAt?: number | Date | string;
  /** Earliest start, relative to now. */
  delayMs?: number;
  /**
   * Unique key (1–255 characters). While a job with this key is active
   * (waiting, scheduled, pending, processing) — and for `uniqueForMs` after its
   * creation, if given — another enqueue with the key returns that job instead.
   */
  key?: string;
  /** Hold the key at least this long after creation, even once the job finished. Needs `key`. */
  uniqueForMs?: number;
  /** When the key is held: 'ignore' returns the holder; 'replace' replaces its payload and run time if it has not started (debounce). @defaultValue 'ignore' */
  onConflict?: 'ignore' | 'replace';
  /**
   * Jobs that must complete first: ids of stored jobs, or the index of an
   * earlier job of the same batch. Until then the job is `waiting`.
   */
  dependsOn?: readonly (string | number)[];
  /** When a dependency fails for good or is cancelled: fail this job too, cancel it, or ignore it. @defaultValue 'fail' */
  onDependencyFailure?: DependencyPolicy;
  /** Flow control (e.g. a tenant or account id): the queue's perKeyConcurrency applies per key, and keys are served fairly (each idle key in turn, then the least used). */
  concurrencyKey?: string;
  /** Flow control: the key the queue's perKeyRateLimit counts by. @defaultValue concurrencyKey */
  rateKey?: string;
  /**
   * FIFO per key (e.g. an account id): a job with an ordering key starts only
   * after every earlier job of that key in its queue ended, one at a time in
   * enqueue order, across nodes. Needs a store that supports it (Postgres).
   */
  orderingKey?: string;
}

export { MAX_DELAY_MS, MAX_DEPENDENCIES, MAX_KEY_LENGTH, MAX_RUN_AT_MS } from './input-limits.js';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `payload` may be left out (stored as null) only when its type allows undefined or null. */
type PayloadField<P> = undefined extends P ? { payload?: P } : null extends P ? { payload?: P } : { payload: P };

/** An enqueue of one job of type `K` of a `JobTypes` map: `type` is `K`, `payload` has `T[K]`'s type. */
export type TypedEnqueueInput<T extends JobTypes, K extends keyof T & string> = Omit<EnqueueInput<T[K]>, 'type' | 'payload'> & { type: K } & PayloadField<T[K]>;

/** An enqueue of any one job type of the map (a union discriminated by `type`), for batches. */
export type EnqueueInputOf<T extends JobTypes> = { [K in keyof T & string]: TypedEnqueueInput<T, K> }[keyof T & string];


function bad(field: string, message: string, index?: number): JobqError {
  const where = index === undefined ? field : `jobs[${index}].${field}`;
  return new JobqError('invalid_request', `${where} ${message}`, { details: { field: where } });
}

function checkInt(field: string, value: unknown, min: number, max: number, index?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(field, `must be an integer from ${min} to ${max}`, index);
  }
  return value;
}

function resolveRunAt(input: EnqueueInput, now: number, index?: number): number {
  if (input.runAt !== undefined && input.delayMs !== undefined) throw bad('runAt', 'and delayMs cannot both be given', index);
  if (input.delayMs !== undefined) return now + checkInt('delayMs', input.delayMs, 0, MAX_DELAY_MS, index);
  if (input.runAt === undefined) return now;
  const t = input.runAt instanceof Date ? input.runAt.getTime() : typeof input.runAt === 'string' ? Date.parse(input.runAt) : input.runAt;
  if (typeof t !== 'number' || !Number.isFinite(t) || t > MAX_RUN_AT_MS) {
    throw bad('runAt', 'must be a valid time: epoch ms, a Date or an ISO 8601 date-time, up to the year 9999', index);
  }
  // A time in the past means "due now", and is stored as now: claims order by run time,
  // so a runAt of 1970 (or of year 0) must not jump ahead of jobs already waiting.
  return Math.max(now, Math.trunc(t));
}

export function toNewJobRecord(input: EnqueueInput, opts: ResolvedOptions, now: number, index?: number): NewJobRecord {
  if (typeof input !== 'object' || input === null) throw bad('job', 'must be an object', index);
  if (typeof input.type !== 'string' || !NAME_PATTERN.test(input.type)) {
    throw bad('type', `must match ${NAME_PATTERN.source}`, index);
  }
  const queue = input.queue ?? opts.jobDefaults.queue;
  if (typeof queue !== 'string' || !NAME_PATTERN.test(queue)) throw bad('queue', `must match ${NAME_PATTERN.source}`, index);
  let payloadJson: string | undefined;
  if (input.payload instanceof JsonText) payloadJson = input.payload.text;
  else {
    checkJsonShape(input.payload, 'payload', index);
    payloadJson = JSON.stringify(input.payload ?? null);
  }
  if (payloadJson === undefined) throw bad('payload', 'must be a JSON value', index);
  const payloadBytes = Buffer.byteLength(payloadJson, 'utf8');
  if (payloadBytes > opts.limits.maxPayloadBytes) {
    throw new JobqError('payload_too_large', `payload is ${payloadBytes} bytes; the limit is ${opts.limits.maxPayloadBytes}`, {
      details: { field: index === undefined ? 'payload' : `jobs[${index}].payload`, limit: opts.limits.maxPayloadBytes },
    });
  }
  const timeoutMs = input.timeoutMs === undefined ? opts.jobDefaults.timeoutMs : input.timeoutMs;
  const runAt = resolveRunAt(input, now, index);
  const key = input.key ?? null;
  if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\u0000'))) {
    throw bad('key', `must be a string of 1 to ${MAX_KEY_LENGTH} characters`, index);
  }
  if (key === null && (input.uniqueForMs !== undefined || input.onConflict !== undefined)) throw bad(input.uniqueForMs !== undefined ? 'uniqueForMs' : 'onConflict', 'needs a key', index);
  const uniqueForMs = input.uniqueForMs === undefined ? null : checkInt('uniqueForMs', input.uniqueForMs, 1, MAX_DELAY_MS, index);
  const onConflict = input.onConflict ?? 'ignore';
  if (onConflict !== 'ignore' && onConflict !== 'replace') throw bad('onConflict', "must be 'ignore' or 'replace'", index);
  const concurrencyKey = optionalKey('concurrencyKey', input.concurrencyKey, index);
  const rateKey = optionalKey('rateKey', input.rateKey, index) ?? concurrencyKey;
  const orderingKey = optionalKey('orderingKey', input.orderingKey, index);
  if (orderingKey !== null && !opts.store.capabilities.orderingKeys) throw bad('orderingKey', 'needs a store that keeps jobs in order per key (Postgres)', index);
  const policy = input.onDependencyFailure ?? 'fail';
  if (!DEPENDENCY_POLICIES.includes(policy)) throw bad('onDependencyFailure', `must be one of ${DEPENDENCY_POLICIES.join(', ')}`, index);
  return {
    id: uuidv7(),
    queue,
    type: input.type,
    payloadJson,
    priority: input.priority === undefined ? opts.jobDefaults.priority : checkInt('priority', input.priority, PRIORITY_RANGE.min, PRIORITY_RANGE.max, index),
    maxAttempts: input.maxAttempts === undefined ? opts.jobDefaults.maxAttempts : checkInt('maxAttempts', input.maxAttempts, 1, MAX_ATTEMPTS_LIMIT, index),
    timeoutMs: timeoutMs === null ? null : checkInt('timeoutMs', timeoutMs, 1, MAX_DELAY_MS, index),
    runAt,
    createdAt: now,
    status: runAt <= now ? 'pending' : 'scheduled',
    key,
    keyUntil: uniqueForMs === null ? null : now + uniqueForMs,
    onConflict,
    dependsOn: null,
    onDependencyFailure: policy,
    concurrencyKey,
    rateKey,
    // Every field always present, never spread in: V8 gives this object, made once per job, one fast shape.
    orderingKey,
    traceContext: null,
  };
}

function optionalKey(field: string, value: unknown, index?: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH || value.includes('\u0000')) {
    throw bad(field, `must be a string of 1 to ${MAX_KEY_LENGTH} characters`, index);
  }
  return value;
}

/**
 * Resolves each record's dependencies: ids of stored jobs, or indexes of
 * earlier records of the same batch (so a batch can never form a cycle).
 * Whether stored ids exist is the store's check (unknown_dependency).
 */
export function resolveDependencies(inputs: readonly EnqueueInput[], records: NewJobRecord[]): void {
  inputs.forEach((input, i) => {
    const deps = input.dependsOn;
    if (deps === undefined) return;
    const where = inputs.length === 1 ? 'dependsOn' : `jobs[${i}].dependsOn`;
    if (!Array.isArray(deps) || deps.length > MAX_DEPENDENCIES) throw new JobqError('invalid_request', `${where} must be an array of at most ${MAX_DEPENDENCIES} job ids or batch indexes`, { details: { field: where } });
    const ids = deps.map((d) => {
      if (typeof d === 'number') {
        if (!Number.isSafeInteger(d) || d < 0 || d >= i) {
          throw new JobqError('invalid_request', `${where}: ${d} is not the index of an earlier job of this batch (a job can only depend on jobs before it: no cycles)`, { details: { field: where } });
        }
        return records[d]!.id;
      }
      if (typeof d !== 'string' || !UUID.test(d)) throw new JobqError('invalid_request', `${where}: "${String(d)}" is not a job id`, { details: { field: where } });
      return d.toLowerCase();
    });
    if (new Set(ids).size !== ids.length) throw new JobqError('invalid_request', `${where} names a job twice`, { details: { field: where } });
    records[i]!.dependsOn = ids;
  });
}
