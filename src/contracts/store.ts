/**
 * The one seam between jobq and persistence. Internal and unstable: backends
 * implement it, the core calls it, users normally never touch it.
 *
 * Rules every backend follows (the conformance suite checks them):
 * - Methods take an explicit `now` (epoch ms) where time matters; stores never read the clock.
 * - Transitions follow `TRANSITIONS` in core/job.ts; an illegal one throws `illegal_transition`.
 * - Anything done to a `processing` job by its worker (extend, finish, release, progress)
 *   is fenced by `leaseToken`: a worker that lost its lease changes nothing.
 */
import type { Job, JobError, JobStatus, LeasedJob } from '../core/job.js';

/** A fully formed new job; the core fills in ids, defaults and the initial status. */
export interface NewJobRecord {
  id: string;
  queue: string;
  type: string;
  /** JSON text of the payload, serialized once by the caller. */
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  runAt: number;
  createdAt: number;
  /** 'pending' when runAt <= createdAt, else 'scheduled'. */
  status: 'pending' | 'scheduled';
}

export interface JobInsertManyParams {
  jobs: readonly NewJobRecord[];
}

export interface JobClaimParams {
  queue: string;
  limit: number;
  now: number;
  leaseMs: number;
  /** Fences this claim; every job claimed by this call carries it. */
  leaseToken: string;
}

export interface LeaseRef {
  id: string;
  leaseToken: string;
}

export interface JobExtendLeasesParams {
  leases: readonly LeaseRef[];
  now: number;
  leaseMs: number;
}

export type JobOutcome =
  | { kind: 'completed'; resultJson: string | null }
  | { kind: 'retry'; runAt: number; error: JobError }
  | { kind: 'failed'; error: JobError };

export interface JobFinish extends LeaseRef {
  outcome: JobOutcome;
}

export interface JobFinishManyParams {
  finishes: readonly JobFinish[];
  now: number;
}

export interface JobReleaseManyParams {
  leases: readonly LeaseRef[];
  now: number;
}

export interface JobSetProgressParams extends LeaseRef {
  progress: number;
  now: number;
}

export interface JobRescueExpiredParams {
  now: number;
  limit: number;
  /** Delay before a rescued job with attempts left runs again. */
  retryDelayMs: (attempt: number) => number;
}

export interface RescuedJob {
  id: string;
  status: 'pending' | 'scheduled' | 'failed';
}

export interface JobListParams {
  queue?: string;
  status?: JobStatus;
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface JobListPage {
  jobs: Job[];
  nextCursor: string | null;
}

export interface JobCancelParams {
  id: string;
  now: number;
}

export interface JobRetryParams {
  id: string;
  now: number;
}

export interface JobPruneParams {
  finishedBefore: number;
  limit: number;
}

export type StatusCounts = Record<JobStatus, number>;

export interface QueueInfo {
  name: string;
  paused: boolean;
  counts: StatusCounts;
}

export interface StoreCapabilities {
  /** An acknowledged insert survives a crash of the process. */
  durable: boolean;
  /** Other processes may share this store (so wake-ups must cross processes). */
  shared: boolean;
}

export interface Store {
  readonly capabilities: StoreCapabilities;

  jobInsertMany(params: JobInsertManyParams): Promise<void>;
  /** Atomically moves up to `limit` ready jobs to processing under a lease; promotes due scheduled jobs first. */
  jobClaim(params: JobClaimParams): Promise<LeasedJob[]>;
  /** Returns the ids whose lease was extended; the rest were lost. */
  jobExtendLeases(params: JobExtendLeasesParams): Promise<string[]>;
  /** Returns the ids that were finished; the rest had lost their lease. */
  jobFinishMany(params: JobFinishManyParams): Promise<string[]>;
  /** Back to pending without spending the attempt (graceful shutdown). Returns the ids released. */
  jobReleaseMany(params: JobReleaseManyParams): Promise<string[]>;
  jobSetProgress(params: JobSetProgressParams): Promise<boolean>;
  jobRescueExpired(params: JobRescueExpiredParams): Promise<RescuedJob[]>;
  jobGet(id: string): Promise<Job | null>;
  jobList(params: JobListParams): Promise<JobListPage>;
  /** From scheduled, pending or processing. Throws not_found / illegal_transition. */
  jobCancel(params: JobCancelParams): Promise<Job>;
  /** From failed or cancelled back to pending with a fresh attempt budget. */
  jobRetry(params: JobRetryParams): Promise<Job>;
  /** Deletes finished jobs finished before the time; returns how many. */
  jobPrune(params: JobPruneParams): Promise<number>;
  /** Earliest runAt of a scheduled job in the queue, for the pool's wake-up timer. */
  jobNextRunAt(queue: string): Promise<number | null>;

  queuePause(queue: string): Promise<void>;
  queueResume(queue: string): Promise<void>;
  queueList(): Promise<QueueInfo[]>;

  /**
   * Inserts inside the caller's own open transaction (`tx` is the backend's
   * client, e.g. a `pg` client): the jobs exist if and only if it commits.
   * Only for stores that can; Jobq.enqueueInTransaction checks for it.
   */
  jobInsertManyWith?(tx: unknown, params: JobInsertManyParams): Promise<void>;

  /**
   * Calls `onChange` soon after another process may have committed jobs.
   * Only for shared stores; returns an unsubscribe function.
   */
  watchChanges?(onChange: () => void): () => void;

  close(): Promise<void>;
}

/** Builds the queueList() answer from the SQL backends' two result sets (queue flags, counts per status). */
export function queueInfos(
  queues: readonly { name: string; paused: boolean | number }[],
  counts: readonly { queue: string; status: JobStatus; n: number }[],
): QueueInfo[] {
  const byName = new Map<string, QueueInfo>();
  const info = (name: string) => {
    let q = byName.get(name);
    if (!q) byName.set(name, (q = { name, paused: false, counts: emptyCounts() }));
    return q;
  };
  for (const r of queues) info(r.name).paused = r.paused === true || r.paused === 1;
  for (const r of counts) info(r.queue).counts[r.status] = r.n;
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function emptyCounts(): StatusCounts {
  return { scheduled: 0, pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
}
