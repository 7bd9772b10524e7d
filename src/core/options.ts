/**
 * Every tunable of the core in one place: documented defaults in one frozen
 * object, one resolveOptions() that validates and names the bad field.
 * The library never reads process.env; only cli/ does.
 */
import type { Logger } from 'pino';
import type { Store } from '../storage/store.js';
import type { Clock } from './clock.js';
import { JobqError } from './errors.js';
import type { HandlerMap } from './handler.js';

export interface QueueOptions {
  /** Jobs of this queue run at once by this process. @defaultValue 10 */
  concurrency?: number;
}

export interface RetryOptions {
  /** Delay before the second attempt. @defaultValue 1000 */
  baseDelayMs?: number;
  /** Multiplier per further attempt. @defaultValue 2 */
  factor?: number;
  /** Cap on any one delay. @defaultValue 3_600_000 (1 h) */
  maxDelayMs?: number;
  /** Fraction of the delay taken off at random, so retries of a burst spread out. 0..1. @defaultValue 0.25 */
  jitter?: number;
}

export interface JobDefaults {
  /** @defaultValue 'default' */
  queue?: string;
  /** @defaultValue 0 */
  priority?: number;
  /** @defaultValue 3 */
  maxAttempts?: number;
  /** Per-attempt limit; null = none. @defaultValue null */
  timeoutMs?: number | null;
}

export interface Limits {
  /** Largest payload, in bytes of its JSON. @defaultValue 1_048_576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Most jobs in one enqueueMany / bulk request. @defaultValue 1000 */
  maxBatchSize?: number;
}

export interface JobqOptions {
  store: Store;
  /** Handlers by job type. */
  handlers?: HandlerMap;
  /** Queues this process works, with their concurrency. @defaultValue { default: { concurrency: 10 } } */
  queues?: Record<string, QueueOptions>;
  /** How long a claim holds a job before the rescuer may take it back. @defaultValue 30_000 */
  leaseMs?: number;
  /** How often running jobs' leases are extended. @defaultValue leaseMs / 3 */
  heartbeatIntervalMs?: number;
  /** Fallback look for new work when no wake-up came. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** How often expired leases are rescued. @defaultValue 5000 */
  rescueIntervalMs?: number;
  /** Grace period for running jobs on stop(); then they are released. @defaultValue 30_000 */
  shutdownTimeoutMs?: number;
  retry?: RetryOptions;
  jobDefaults?: JobDefaults;
  limits?: Limits;
  /** Most jobs written in one group-commit transaction. @defaultValue 5000 */
  maxCommitBatch?: number;
  clock?: Clock;
  /** Source of randomness for jitter; tests pass a seeded one. @defaultValue Math.random */
  random?: () => number;
  logger?: Logger;
}

export interface ResolvedOptions {
  store: Store;
  handlers: HandlerMap;
  queues: Record<string, Required<QueueOptions>>;
  leaseMs: number;
  heartbeatIntervalMs: number;
  pollIntervalMs: number;
  rescueIntervalMs: number;
  shutdownTimeoutMs: number;
  retry: Required<RetryOptions>;
  jobDefaults: Required<JobDefaults>;
  limits: Required<Limits>;
  maxCommitBatch: number;
}

export const DEFAULTS = Object.freeze({
  concurrency: 10,
  leaseMs: 30_000,
  pollIntervalMs: 1000,
  rescueIntervalMs: 5000,
  shutdownTimeoutMs: 30_000,
  retry: Object.freeze({ baseDelayMs: 1000, factor: 2, maxDelayMs: 3_600_000, jitter: 0.25 }),
  jobDefaults: Object.freeze({ queue: 'default', priority: 0, maxAttempts: 3, timeoutMs: null }),
  limits: Object.freeze({ maxPayloadBytes: 1_048_576, maxBatchSize: 1000 }),
  maxCommitBatch: 5000,
});

/** Queue and type names: what fits in a URL segment, a log line and a metric label. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const PRIORITY_RANGE = { min: -1_000_000, max: 1_000_000 } as const;
export const MAX_ATTEMPTS_LIMIT = 1000;

function positiveInt(field: string, value: number, { allowZero = false } = {}): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new JobqError('invalid_option', `${field} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`, {
      details: { field },
    });
  }
  return value;
}

export function resolveOptions(o: JobqOptions): ResolvedOptions {
  if (!o.store) throw new JobqError('invalid_option', 'store is required', { details: { field: 'store' } });
  const leaseMs = positiveInt('leaseMs', o.leaseMs ?? DEFAULTS.leaseMs);
  const heartbeatIntervalMs = positiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs ?? Math.max(1, Math.floor(leaseMs / 3)));
  if (heartbeatIntervalMs >= leaseMs) {
    throw new JobqError('invalid_option', `heartbeatIntervalMs (${heartbeatIntervalMs}) must be less than leaseMs (${leaseMs})`, {
      details: { field: 'heartbeatIntervalMs' },
    });
  }
  const queues: Record<string, Required<QueueOptions>> = {};
  for (const [name, q] of Object.entries(o.queues ?? { [DEFAULTS.jobDefaults.queue]: {} })) {
    if (!NAME_PATTERN.test(name)) throw new JobqError('invalid_option', `queue name "${name}" is not allowed`, { details: { field: 'queues' } });
    queues[name] = { concurrency: positiveInt(`queues.${name}.concurrency`, q.concurrency ?? DEFAULTS.concurrency) };
  }
  const retry = { ...DEFAULTS.retry, ...o.retry };
  positiveInt('retry.baseDelayMs', retry.baseDelayMs, { allowZero: true });
  positiveInt('retry.maxDelayMs', retry.maxDelayMs, { allowZero: true });
  if (!(retry.factor >= 1)) throw new JobqError('invalid_option', 'retry.factor must be >= 1', { details: { field: 'retry.factor' } });
  if (!(retry.jitter >= 0 && retry.jitter <= 1)) {
    throw new JobqError('invalid_option', 'retry.jitter must be between 0 and 1', { details: { field: 'retry.jitter' } });
  }
  const jobDefaults = { ...DEFAULTS.jobDefaults, ...o.jobDefaults };
  positiveInt('jobDefaults.maxAttempts', jobDefaults.maxAttempts);
  if (jobDefaults.timeoutMs !== null) positiveInt('jobDefaults.timeoutMs', jobDefaults.timeoutMs);
  const limits = { ...DEFAULTS.limits, ...o.limits };
  positiveInt('limits.maxPayloadBytes', limits.maxPayloadBytes);
  positiveInt('limits.maxBatchSize', limits.maxBatchSize);
  for (const [type, fn] of Object.entries(o.handlers ?? {})) {
    if (typeof fn !== 'function') throw new JobqError('invalid_option', `handler "${type}" is not a function`, { details: { field: 'handlers' } });
  }
  return {
    store: o.store,
    handlers: { ...o.handlers },
    queues,
    leaseMs,
    heartbeatIntervalMs,
    pollIntervalMs: positiveInt('pollIntervalMs', o.pollIntervalMs ?? DEFAULTS.pollIntervalMs),
    rescueIntervalMs: positiveInt('rescueIntervalMs', o.rescueIntervalMs ?? DEFAULTS.rescueIntervalMs),
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', o.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs, { allowZero: true }),
    retry,
    jobDefaults,
    limits,
    maxCommitBatch: positiveInt('maxCommitBatch', o.maxCommitBatch ?? DEFAULTS.maxCommitBatch),
  };
}
