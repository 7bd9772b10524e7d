/** A job as the memory store holds it, and the copies it hands out. */
import { MAX_ERRORS_KEPT, type DependencyPolicy, type Job, type JobError, type JobStatus, type LeasedJob, type TraceContext } from '../../contracts/job.js';
import type { JobRef, ListedJob, ListInclude, NewJobRecord } from '../../contracts/store.js';

/** JSON kept as text, so callers get copies and never share objects with the store. */
export interface MemJob {
  seq: number;
  id: string;
  queue: string;
  type: string;
  payloadJson: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number | null;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  resultJson: string | null;
  errors: JobError[];
  progress: number | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  /** Unique key, flow keys, trace context and dependencies, which most jobs have none of: null then (one field per job held instead of ten). */
  extra: MemExtra | null;
  /** The job's current heap entry: any other entry of it in a heap is stale. Null once claimed, so a job kept finished holds no entry. */
  entry: HeapEntry | null;
  /** Bytes counted against the store's byte limit. */
  bytes: number;
}

/** What only some jobs carry: a unique key and its hold, flow-control keys, a trace context, dependency links (mem-links.ts). */
export interface MemExtra {
  key: string | null;
  /** True while the job holds its key in the store's key index. */
  keyHeld: boolean;
  keyUntil: number | null;
  dependsOn: string[];
  onDependencyFailure: DependencyPolicy;
  /** Dependencies not yet completed (the job is waiting while > 0). */
  pendingDeps: number;
  /** Ids of waiting jobs that depend on this one. */
  dependents: string[] | null;
  concurrencyKey: string | null;
  rateKey: string | null;
  traceContext: TraceContext | null;
}

/**
 * A job's place in a heap, with the sort key it had when pushed: a job whose
 * run time or priority changes later (a replace, a retry) gets a new entry,
 * and the old one, stale (not the job's `entry`), keeps its old place, so the
 * heap's order never breaks (found by the simulator: a due job left
 * unpromoted). `seq` never changes, so it is read from the job.
 */
export interface HeapEntry {
  job: MemJob;
  priority: number;
  runAt: number;
}

/** A new job's extra: null when the record carries none of it (most do not). */
export function extraFor(r: NewJobRecord): MemExtra | null {
  if (r.key === null && !r.dependsOn?.length && r.concurrencyKey === null && r.rateKey === null && !r.traceContext) return null;
  return newExtra(r.key, r.keyUntil, r.dependsOn ? [...r.dependsOn] : NO_DEPENDENCIES, r.onDependencyFailure, r.concurrencyKey, r.rateKey, r.traceContext ? { ...r.traceContext } : null);
}

/** A job's extra, made on first need (a job another one comes to depend on). */
export function extraOf(job: MemJob): MemExtra {
  return (job.extra ??= newExtra(null, null, NO_DEPENDENCIES, 'fail', null, null, null));
}

/** Every field in one literal, in one order: one shape for every extra. */
function newExtra(
  key: string | null,
  keyUntil: number | null,
  dependsOn: string[],
  onDependencyFailure: DependencyPolicy,
  concurrencyKey: string | null,
  rateKey: string | null,
  traceContext: TraceContext | null,
): MemExtra {
  return { key, keyHeld: false, keyUntil, dependsOn, onDependencyFailure, pendingDeps: 0, dependents: null, concurrencyKey, rateKey, traceContext };
}

export const uniqueKeyOf = (job: MemJob): string | null => job.extra?.key ?? null;
export const concurrencyKeyOf = (job: MemJob): string | null => job.extra?.concurrencyKey ?? null;
export const rateKeyOf = (job: MemJob): string | null => job.extra?.rateKey ?? null;

/** Per-job bookkeeping beyond its JSON, counted against maxBytes (measured order of magnitude). */
export const JOB_OVERHEAD_BYTES = 512;

export function jobBytes(job: Pick<MemJob, 'payloadJson' | 'resultJson' | 'errors'>): number {
  let n = JOB_OVERHEAD_BYTES + job.payloadJson.length + (job.resultJson?.length ?? 0);
  for (const e of job.errors) n += e.message.length + (e.stack?.length ?? 0) + 64;
  return n;
}

/**
 * What a new job holds until it has errors or dependencies: one shared empty
 * list instead of two per job (a bulk enqueue of 400,000 jobs spent a third
 * of its time collecting garbage). Never written to: pushError replaces it.
 */
export const NO_ERRORS: JobError[] = [];
export const NO_DEPENDENCIES: string[] = [];

/** Appends an error, keeping the first and the most recent ones. */
export function pushError(job: MemJob, error: JobError): void {
  if (job.errors === NO_ERRORS) job.errors = [];
  job.errors.push(error);
  if (job.errors.length > MAX_ERRORS_KEPT) job.errors.splice(1, 1);
}

export function refOf(job: MemJob): JobRef {
  return { id: job.id, queue: job.queue, type: job.type, attempts: job.attempts };
}

/** A copy the caller may keep or mutate without touching the store. */
export function viewOf(job: MemJob): Job {
  return fullView(job, ALL, undefined);
}

/**
 * The copy a claim hands out: every field in one object literal, made once
 * (not a view spread into a second object with the token added: in a
 * drain of no-op jobs that was a third of what the store allocated).
 */
export function leasedViewOf(job: MemJob, leaseToken: string): LeasedJob {
  return fullView(job, ALL, leaseToken) as LeasedJob;
}

const ALL: ListInclude = { payload: true, result: true };

function fullView(job: MemJob, include: ListInclude, leaseToken: string | undefined): Job | LeasedJob {
  const v: Job & { leaseToken?: string } = {
    id: job.id,
    queue: job.queue,
    type: job.type,
    payload: include.payload ? (JSON.parse(job.payloadJson) as unknown) : undefined,
    status: job.status,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeoutMs,
    runAt: job.runAt,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    updatedAt: job.updatedAt,
    result: !include.result ? undefined : job.resultJson === null ? null : (JSON.parse(job.resultJson) as unknown),
    errors: job.errors.length === 0 ? [] : job.errors.map((e) => ({ ...e })),
    progress: job.progress,
    leaseExpiresAt: job.leaseExpiresAt,
    key: uniqueKeyOf(job),
    dependsOn: job.extra === null || job.extra.dependsOn.length === 0 ? [] : [...job.extra.dependsOn],
    concurrencyKey: concurrencyKeyOf(job),
    rateKey: rateKeyOf(job),
    traceContext: job.extra?.traceContext ? { ...job.extra.traceContext } : null,
  };
  if (leaseToken !== undefined) v.leaseToken = leaseToken;
  return v;
}

export function listedView(job: MemJob, include: ListInclude): ListedJob {
  const v: ListedJob = fullView(job, include, undefined);
  // As storage/job-row.ts: a listed job without its payload or result has no such field.
  if (!include.payload) delete v.payload;
  if (!include.result) delete v.result;
  return v;
}
