/** A claimed job as a handler sees it in process: the core's Job, times as epoch ms. */
import type { Job, LeasedJob } from '../contracts/job.js';
import type { JobJson } from './wire-types.js';
import type { LeasedJobJson } from './lease-client.js';
import { memoLast } from '../core/memo-last.js';

const ms = (iso: string | null | undefined): number | null => (iso === null || iso === undefined ? null : Date.parse(iso));

/** Per time field: the jobs of one claim repeat their times (memo-last.ts). */
const runAtMs = memoLast(Date.parse);
const createdAtMs = memoLast(Date.parse);
const updatedAtMs = memoLast(Date.parse);
const startedAtMs = memoLast(Date.parse);
const leaseMs = memoLast(Date.parse);

/** The fields a server of this version sends beyond the older JobJson. */
type Wire<P> = JobJson<P> & { key?: string | null; dependsOn?: string[]; concurrencyKey?: string | null; rateKey?: string | null };

export function toJob<P>(j: Wire<P>): Job<P> {
  return {
    id: j.id,
    queue: j.queue,
    type: j.type,
    payload: j.payload as P,
    status: j.status,
    priority: j.priority,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    timeoutMs: j.timeoutMs,
    runAt: ms(j.runAt) ?? 0,
    createdAt: ms(j.createdAt) ?? 0,
    startedAt: ms(j.startedAt),
    finishedAt: ms(j.finishedAt),
    updatedAt: ms(j.updatedAt) ?? 0,
    result: (j.result ?? null) as Job<P>['result'],
    errors: j.errors.map((e) => ({ attempt: e.attempt, message: e.message, ...(e.stack !== undefined && { stack: e.stack }), at: ms(e.at) ?? 0 })),
    progress: j.progress,
    leaseExpiresAt: ms(j.leaseExpiresAt),
    key: j.key ?? null,
    dependsOn: j.dependsOn ?? [],
    concurrencyKey: j.concurrencyKey ?? null,
    rateKey: j.rateKey ?? null,
  };
}

/**
 * The claim's parsed JSON turned into the Job in place (times to epoch ms,
 * the fields an older server leaves out filled in): no second object per job,
 * which a drain of 50,000 jobs feels in garbage collection.
 */
export function toLeasedJob<P>(j: LeasedJobJson<P>): LeasedJob<P> {
  const o = j as unknown as Record<string, unknown>;
  o.runAt = runAtMs(j.runAt) ?? 0;
  o.createdAt = createdAtMs(j.createdAt) ?? 0;
  o.updatedAt = updatedAtMs(j.updatedAt) ?? 0;
  o.startedAt = startedAtMs(j.startedAt);
  o.finishedAt = ms(j.finishedAt);
  o.leaseExpiresAt = leaseMs(j.leaseExpiresAt);
  for (const e of j.errors as unknown as Record<string, unknown>[]) e.at = ms(e.at as string | null) ?? 0;
  o.result ??= null;
  o.key ??= null;
  o.dependsOn ??= [];
  o.concurrencyKey ??= null;
  o.rateKey ??= null;
  return o as unknown as LeasedJob<P>;
}
