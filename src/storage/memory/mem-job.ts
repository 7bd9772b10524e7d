/** A job as the memory store holds it, and the copies it hands out. */
import { MAX_ERRORS_KEPT, type DependencyPolicy, type Job, type JobError, type JobStatus, type TraceContext } from '../../contracts/job.js';
import type { JobRef, ListedJob, ListInclude } from '../../contracts/store.js';

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
  /** Bumped each time the job enters a heap, so stale heap entries can be skipped. */
  generation: number;
  /** Bytes counted against the store's byte limit. */
  bytes: number;
}

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
  const v = listedView(job, { payload: true, result: true });
  return v as Job;
}

export function listedView(job: MemJob, include: ListInclude): ListedJob {
  const v: ListedJob = {
    id: job.id,
    queue: job.queue,
    type: job.type,
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
    errors: job.errors.map((e) => ({ ...e })),
    progress: job.progress,
    leaseExpiresAt: job.leaseExpiresAt,
    key: job.key,
    dependsOn: [...job.dependsOn],
    concurrencyKey: job.concurrencyKey,
    rateKey: job.rateKey,
    traceContext: job.traceContext && { ...job.traceContext },
  };
  if (include.payload) v.payload = JSON.parse(job.payloadJson) as unknown;
  if (include.result) v.result = job.resultJson === null ? null : (JSON.parse(job.resultJson) as unknown);
  return v;
}
