/** The server's JSON shapes as the client sees them: types only, shared by the client's modules. */
import type { JobStatus } from '../contracts/job.js';
import type { ScheduledJob } from '../contracts/store.js';

/** A stored error of one attempt. */
export interface JobErrorJson {
  attempt: number;
  message: string;
  stack?: string;
  at: string | null;
}

/** A job as the HTTP API returns it (times as ISO 8601 strings). */
export interface JobJson<Payload = unknown> {
  id: string;
  queue: string;
  type: string;
  /** Left out of listings unless asked for. */
  payload?: Payload;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number | null;
  runAt: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string | null;
  /** Left out of listings unless asked for. */
  result?: unknown;
  errors: JobErrorJson[];
  progress: number | null;
  leaseExpiresAt: string | null;
  key: string | null;
  dependsOn: string[];
  concurrencyKey: string | null;
  rateKey: string | null;
  /** Enqueue answers only: the key was held, and this is the holder. */
  deduplicated?: boolean;
  /** Enqueue answers only: onConflict 'replace' updated the holder. */
  replaced?: boolean;
}

/** The short form of each job in a batch enqueue's answer. */
export interface JobSummaryJson {
  id: string;
  queue: string;
  type: string;
  status: JobStatus;
  runAt: string | null;
  /** The key was held: this is the holder. */
  deduplicated?: boolean;
}

export interface JobPage {
  jobs: JobJson[];
  /** Pass back as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** What a prune deleted. */
export interface PruneJson {
  deleted: number;
  byStatus: { completed: number; failed: number; cancelled: number };
}

export interface PruneParams {
  /** Milliseconds each finished status is kept (null: forever); a status left out keeps the server's retention. */
  retention?: Partial<Record<'completed' | 'failed' | 'cancelled', number | null>>;
  /** Only this queue. */
  queue?: string;
}

export interface QueueJson {
  name: string;
  paused: boolean;
  counts: Partial<Record<JobStatus, number>>;
  /** Pending jobs of types no live node working this queue handles. */
  unhandled: number;
  unhandledTypes?: Record<string, number>;
  /** Cluster-wide flow control; null: no limit. */
  settings: QueueSettingsJson;
}

export interface RateLimitJson {
  max: number;
  intervalMs: number;
}

export interface QueueSettingsJson {
  concurrency: number | null;
  perKeyConcurrency: number | null;
  rateLimit: RateLimitJson | null;
  perKeyRateLimit: RateLimitJson | null;
}

/** The job a schedule enqueues at each slot: the same fields on the wire as in the store (no times). */
export type ScheduledJobJson = ScheduledJob;

export interface ScheduleDefinition {
  /** Five fields (minute hour day month weekday), or six with seconds first. */
  cron: string;
  /** @defaultValue 'UTC' */
  tz?: string;
  job: ScheduledJobJson;
  /** @defaultValue 'none' */
  catchUp?: 'none' | 'latest' | 'all';
  paused?: boolean;
}

export interface ScheduleJson extends Required<Omit<ScheduleDefinition, 'paused' | 'tz' | 'catchUp'>> {
  name: string;
  tz: string;
  catchUp: 'none' | 'latest' | 'all';
  paused: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** A flow: the parent runs once every child completed. */
export interface FlowJson<J = { type: string; payload?: unknown }> {
  job: J;
  children?: FlowJson<J>[];
}

export interface FlowAnswerJson {
  job: JobSummaryJson;
  children: FlowAnswerJson[];
}

export interface QueuePageJson {
  queues: QueueJson[];
  nextCursor: string | null;
}

export interface ListJobsQuery {
  queue?: string;
  status?: JobStatus;
  /**
   * Only jobs of this type, with this key (exact), created at or after
   * `createdAfter` and before `createdBefore` (a Date, epoch ms or an ISO
   * 8601 date-time). The server tests these on up to 10,000 jobs per page:
   * a page may come back short, even empty, with a `nextCursor` to go on.
   */
  type?: string;
  key?: string;
  createdAfter?: Date | number | string;
  createdBefore?: Date | number | string;
  /** 1..500. @defaultValue 50 */
  limit?: number;
  cursor?: string;
  /** Heavy fields to include (left out by default). */
  include?: readonly ('payload' | 'result')[];
}
