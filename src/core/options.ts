/**
 * Every tunable of the core in one place: documented defaults in one frozen
 * object, one resolveOptions() that validates and names the bad field.
 * The library never reads process.env; only cli/ does, and it builds its
 * settings table from these defaults.
 */
import type { Logger } from 'pino';
import { JobqError } from '../contracts/errors.js';
import type { FinishedStatus } from '../contracts/job.js';
import type { Store } from '../contracts/store.js';
import type { Clock } from './clock.js';
import type { DefaultJobTypes, HandlerMap, JobTypes } from './handler.js';
import type { ScheduleInput } from './schedules/schedule-api.js';
import { isPrefetch, MAX_PREFETCH } from './worker/claim-ahead.js';
import type { DispatchFactory } from './worker/claim-source.js';

export interface QueueOptions {
  /** Jobs of this queue run at once by this process. @defaultValue 10 */
  concurrency?: number;
  /**
   * Jobs claimed beyond the free slots, to start the moment a slot frees
   * while the claim that refills them travels. They are leased (status
   * `processing`) and heartbeated while they wait; on stop they are released
   * unstarted. 'auto' holds what the slots finish during one claim (up to
   * 16), none on a flow-controlled queue, and none while that is under one
   * job, so long jobs are never held back from other nodes; and it gives
   * them back to the queue, attempt unspent, when a slow job keeps the slots
   * (no start for 4 usual run times, at least 50 ms). A node killed with jobs claimed
   * ahead spends their attempt, as it does the running ones' (the rescuer
   * puts them back when their lease expires). 0 turns it off.
   * @defaultValue 'auto'
   */
  prefetch?: number | 'auto';
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
  /** Largest handler result, in bytes of its JSON; a bigger one fails the attempt. @defaultValue 1_048_576 (1 MiB) */
  maxResultBytes?: number;
  /** Most jobs in one enqueueMany / bulk request. @defaultValue 1000 */
  maxBatchSize?: number;
  /** Most jobs in one listing page. @defaultValue 500 */
  maxPageSize?: number;
  /**
   * A listing page ends early once its payloads and results reach this many bytes. 2 MiB keeps the
   * worst case (a page of payloads made of tiny objects, parsed and serialized on the event loop) near
   * 70 ms; 4 MiB measured 136 ms. @defaultValue 2_097_152 (2 MiB)
   */
  maxPageBytes?: number;
  /** Most queues that may exist; enqueueing into or pausing one more answers capacity_exceeded. @defaultValue 10_000 */
  maxQueues?: number;
}

/** How long finished jobs are kept, in ms; null keeps them forever. */
export type RetentionOptions = Partial<Record<FinishedStatus, number | null>>;

export interface JobqOptions<T extends JobTypes = DefaultJobTypes> {
  store: Store;
  /** Handlers by job type. This node claims only jobs of these types. */
  /** Handlers by job type (typed by `T`, never inferred from them). This node claims only jobs of these types. */
  handlers?: HandlerMap<NoInfer<T>>;
  /** Queues this process works, with their concurrency; `{}` runs no workers (an API-only node). @defaultValue { default: { concurrency: 10 } } */
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
  /** Retention of finished jobs. @defaultValue completed 7 days, failed and cancelled 30 days */
  retention?: RetentionOptions;
  /** How often the leader prunes finished jobs past their retention. @defaultValue 60_000 */
  pruneIntervalMs?: number;
  /** How often this node announces itself (and renews leaderships). @defaultValue 5000 */
  nodeHeartbeatMs?: number;
  retry?: RetryOptions;
  jobDefaults?: JobDefaults;
  limits?: Limits;
  /** Most jobs written in one group-commit transaction. @defaultValue 5000 */
  maxCommitBatch?: number;
  /** This process's id in the cluster. @defaultValue a random UUID */
  nodeId?: string;
  /** Cron schedules to declare at start (upserted idempotently; see jobq.schedules). */
  schedules?: ScheduleInput[];
  /** Where workers get their jobs: the store's claims by default; `kafkaDispatch()` from jobq/kafka hands them out through a broker. */
  dispatch?: DispatchFactory;
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
  retention: Record<FinishedStatus, number | null>;
  pruneIntervalMs: number;
  nodeHeartbeatMs: number;
  retry: Required<RetryOptions>;
  jobDefaults: Required<JobDefaults>;
  limits: Required<Limits>;
  maxCommitBatch: number;
}

const DAY_MS = 24 * 3600 * 1000;

export const DEFAULTS = Object.freeze({
  concurrency: 10,
  prefetch: 'auto' as number | 'auto',
  leaseMs: 30_000,
  pollIntervalMs: 1000,
  rescueIntervalMs: 5000,
  shutdownTimeoutMs: 30_000,
  retention: Object.freeze({ completed: 7 * DAY_MS, failed: 30 * DAY_MS, cancelled: 30 * DAY_MS }),
  pruneIntervalMs: 60_000,
  nodeHeartbeatMs: 5000,
  retry: Object.freeze({ baseDelayMs: 1000, factor: 2, maxDelayMs: 3_600_000, jitter: 0.25 }),
  jobDefaults: Object.freeze({ queue: 'default', priority: 0, maxAttempts: 3, timeoutMs: null }),
  limits: Object.freeze({
    maxPayloadBytes: 1_048_576,
    maxResultBytes: 1_048_576,
    maxBatchSize: 1000,
    maxPageSize: 500,
    maxPageBytes: 2_097_152,
    maxQueues: 10_000,
  }),
  maxCommitBatch: 5000,
});

import { NAME_PATTERN } from './input-limits.js';
export { MAX_ATTEMPTS_LIMIT, NAME_PATTERN, PRIORITY_RANGE } from './input-limits.js';

function invalid(field: string, message: string): JobqError {
  return new JobqError('invalid_option', `${field} ${message}`, { details: { field } });
}

function positiveInt(field: string, value: number, { allowZero = false } = {}): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw invalid(field, `must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions<T extends JobTypes>(o: JobqOptions<T>): ResolvedOptions {
  if (!o.store) throw invalid('store', 'is required');
  const leaseMs = positiveInt('leaseMs', o.leaseMs ?? DEFAULTS.leaseMs);
  const heartbeatIntervalMs = positiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs ?? Math.max(1, Math.floor(leaseMs / 3)));
  if (heartbeatIntervalMs >= leaseMs) throw invalid('heartbeatIntervalMs', `(${heartbeatIntervalMs}) must be less than leaseMs (${leaseMs})`);
  const queues: Record<string, Required<QueueOptions>> = {};
  for (const [name, q] of Object.entries(o.queues ?? { [DEFAULTS.jobDefaults.queue]: {} })) {
    if (!NAME_PATTERN.test(name)) throw invalid('queues', `has a name that is not allowed: "${name}"`);
    const prefetch = q.prefetch ?? DEFAULTS.prefetch;
    if (!isPrefetch(prefetch)) throw invalid(`queues.${name}.prefetch`, `must be 'auto' or an integer from 0 to ${MAX_PREFETCH}, got ${String(prefetch)}`);
    queues[name] = { concurrency: positiveInt(`queues.${name}.concurrency`, q.concurrency ?? DEFAULTS.concurrency), prefetch };
  }
  const retry = { ...DEFAULTS.retry, ...o.retry };
  positiveInt('retry.baseDelayMs', retry.baseDelayMs, { allowZero: true });
  positiveInt('retry.maxDelayMs', retry.maxDelayMs, { allowZero: true });
  if (!(retry.factor >= 1)) throw invalid('retry.factor', 'must be >= 1');
  if (!(retry.jitter >= 0 && retry.jitter <= 1)) throw invalid('retry.jitter', 'must be between 0 and 1');
  const jobDefaults = { ...DEFAULTS.jobDefaults, ...o.jobDefaults };
  positiveInt('jobDefaults.maxAttempts', jobDefaults.maxAttempts);
  if (jobDefaults.timeoutMs !== null) positiveInt('jobDefaults.timeoutMs', jobDefaults.timeoutMs);
  const limits = { ...DEFAULTS.limits, ...o.limits };
  for (const [k, v] of Object.entries(limits)) positiveInt(`limits.${k}`, v);
  const retention = { ...DEFAULTS.retention, ...o.retention };
  for (const [k, v] of Object.entries(retention)) if (v !== null) positiveInt(`retention.${k}`, v);
  for (const [type, fn] of Object.entries(o.handlers ?? {})) {
    if (typeof fn !== 'function') throw invalid('handlers', `entry "${type}" is not a function`);
  }
  return {
    store: o.store,
    handlers: { ...(o.handlers as HandlerMap) },
    queues,
    leaseMs,
    heartbeatIntervalMs,
    pollIntervalMs: positiveInt('pollIntervalMs', o.pollIntervalMs ?? DEFAULTS.pollIntervalMs),
    rescueIntervalMs: positiveInt('rescueIntervalMs', o.rescueIntervalMs ?? DEFAULTS.rescueIntervalMs),
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', o.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs, { allowZero: true }),
    retention,
    pruneIntervalMs: positiveInt('pruneIntervalMs', o.pruneIntervalMs ?? DEFAULTS.pruneIntervalMs),
    nodeHeartbeatMs: positiveInt('nodeHeartbeatMs', o.nodeHeartbeatMs ?? DEFAULTS.nodeHeartbeatMs),
    retry,
    jobDefaults,
    limits,
    maxCommitBatch: positiveInt('maxCommitBatch', o.maxCommitBatch ?? DEFAULTS.maxCommitBatch),
  };
}
