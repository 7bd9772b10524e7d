/**
 * What the simulated users ask for, drawn from the seed's RNG: jobs (types,
 * priorities, delays, time limits, failures, poison, throttling), unique keys,
 * dependencies and flows (issue #11), concurrency and rate keys and the
 * queue's flow-control settings (issue #12), cron schedules.
 */
import type { EnqueueInput } from '../../src/core/enqueue-input.js';
import type { FlowInput } from '../../src/core/flow.js';
import type { ScheduleInput } from '../../src/core/schedules/schedule-api.js';
import type { DependencyPolicy } from '../../src/contracts/job.js';
import type { QueueSettings } from '../../src/contracts/store.js';
import { known } from './known-bugs.js';
import { ORPHAN_TYPE, type WorkPayload } from './model.js';
import type { Rng } from './rng.js';

/** Unique keys: few, so enqueues collide. */
export const UNIQUE_KEYS = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'] as const;
/** Concurrency keys (tenants); with the keyless group, five groups for fairness (flow-checks.ts). */
export const CONCURRENCY_KEYS = ['a', 'b', 'c', 'd'] as const;
/** A rate key shared across concurrency keys. */
export const SHARED_RATE_KEY = 'r1';
export const SCHEDULE_NAMES = ['s1', 's2'] as const;
const CRONS = ['* * * * * *', '*/2 * * * * *', '*/3 * * * * *', '*/5 * * * * *'];
const POLICIES: readonly DependencyPolicy[] = ['fail', 'cancel', 'ignore'];

export type Job = EnqueueInput<WorkPayload>;

export function newPayload(rng: Rng): WorkPayload {
  const q = rng.next();
  const p: WorkPayload = {
    ms: rng.int(0, 600),
    fail: rng.chance(0.2),
    hang: rng.chance(0.04),
    permanent: rng.chance(0.04),
    progress: rng.chance(0.2),
    poison: q < 0.03 ? 'nul' : q < 0.06 ? 'surrogate' : q < 0.08 ? 'result' : 'none',
  };
  if (rng.chance(0.08)) p.throttle = { times: rng.int(1, 2), retryAfterMs: rng.int(20, 600), scope: rng.chance(0.7) ? 'key' : 'queue' };
  return p;
}

/** Whether jobs of a batch with dependencies may carry unique keys (see known-bugs.ts). */
const KEYS_IN_LINKED_BATCHES = !known('dedup-batch-dependency');

/** One job; `orphans`: whether a job of the type no node handles may be drawn; `keys`: whether it may carry a unique key. */
export function newJob(rng: Rng, orphans: boolean, keys = true): Job {
  const t = rng.next();
  const job: Job = {
    type: t < 0.03 && orphans ? ORPHAN_TYPE : t < 0.3 ? 'mail' : 'work',
    payload: newPayload(rng),
    priority: rng.int(-2, 2),
    maxAttempts: rng.int(1, 4),
    ...(rng.chance(0.3) ? { delayMs: rng.int(1, 500) } : {}),
    ...(rng.chance(0.5) ? { timeoutMs: rng.int(100, 900) } : {}),
  };
  if (rng.chance(0.6)) job.concurrencyKey = rng.pick(CONCURRENCY_KEYS)!;
  if (rng.chance(0.08)) job.rateKey = SHARED_RATE_KEY;
  if (rng.chance(0.12) && keys) {
    job.key = rng.pick(UNIQUE_KEYS)!;
    if (rng.chance(0.25)) job.uniqueForMs = rng.int(100, 3000);
    if (rng.chance(0.3)) job.onConflict = 'replace';
  }
  return job;
}

function withDeps(rng: Rng, job: Job, deps: (string | number)[]): Job {
  if (deps.length === 0) return job;
  return { ...job, dependsOn: deps, onDependencyFailure: rng.pick(POLICIES)! };
}

/**
 * A batch for enqueueMany: plain jobs, or (one in five) jobs depending on earlier jobs of the batch
 * (by index) and on recent stored jobs (`recent`: ids of jobs some node handles).
 */
export function newBatch(rng: Rng, orphans: () => boolean, recent: () => string | undefined): Job[] {
  const n = rng.int(1, 4);
  const linked = rng.chance(0.2);
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    const job = newJob(rng, !linked && orphans(), !linked || KEYS_IN_LINKED_BATCHES);
    if (!linked) {
      jobs.push(job);
      continue;
    }
    const deps: (string | number)[] = [];
    if (i > 0 && rng.chance(0.6)) deps.push(rng.int(0, i - 1));
    if (rng.chance(0.4)) {
      const id = recent();
      if (id !== undefined) deps.push(id);
    }
    jobs.push(withDeps(rng, job, deps));
  }
  return jobs;
}

/** A flow: a parent and one to three children, a child sometimes with a child of its own. */
export function newFlow(rng: Rng): FlowInput<WorkPayload> {
  const node = (depth: number): FlowInput<WorkPayload> => {
    const job = newJob(rng, false, KEYS_IN_LINKED_BATCHES);
    const children = depth < 2 && rng.chance(depth === 0 ? 1 : 0.2) ? Array.from({ length: rng.int(1, 3) }, () => node(depth + 1)) : [];
    if (children.length > 0) job.onDependencyFailure = rng.pick(POLICIES)!;
    return children.length > 0 ? { job, children } : { job };
  };
  return node(0);
}

const limit = (rng: Rng, p: number, lo: number, hi: number) => (rng.chance(p) ? rng.int(lo, hi) : null);
const rate = (rng: Rng, p: number, maxHi: number, lo: number, hi: number) => (rng.chance(p) ? { max: rng.int(1, maxHi), intervalMs: rng.int(lo, hi) } : null);

/** Flow-control settings for the queue; every limit may be absent (all absent: limits removed). */
export function newSettings(rng: Rng): QueueSettings {
  return {
    concurrency: limit(rng, 0.5, 2, 6),
    perKeyConcurrency: limit(rng, 0.5, 1, 2),
    rateLimit: rate(rng, 0.35, 10, 200, 1000),
    perKeyRateLimit: rate(rng, 0.35, 4, 100, 800),
  };
}

export function newSchedule(rng: Rng, name: string): ScheduleInput {
  return {
    name,
    cron: rng.pick(CRONS)!,
    catchUp: rng.pick(['none', 'latest', 'all'] as const)!,
    ...(rng.chance(0.1) ? { paused: true } : {}),
    job: { type: 'work', queue: 'default', maxAttempts: 2, payload: { ms: rng.int(0, 300), fail: rng.chance(0.1), hang: false, permanent: false, progress: false, poison: 'none' } satisfies WorkPayload },
  };
}
