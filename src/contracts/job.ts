/**
 * The job model: one string union of statuses, one table of legal transitions.
 * The core decides every transition against this table; the stores apply them
 * under their fence, and a conformance test checks that each backend allows
 * exactly the moves listed here.
 */
import { JobqError } from './errors.js';

export const JOB_STATUSES = ['waiting', 'scheduled', 'pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];
export const ACTIVE_STATUSES = ['waiting', 'scheduled', 'pending', 'processing'] as const satisfies readonly JobStatus[];

/** Legal transitions, from → allowed targets. See docs/architecture.md for the diagram. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // its last dependency completed (then by its runAt), or one failed or was cancelled (per its policy), or cancelled.
  waiting: ['pending', 'scheduled', 'failed', 'cancelled'],
  // runAt reached, or cancelled before it ran.
  scheduled: ['pending', 'cancelled'],
  // claimed by a worker, or cancelled (pause does not move jobs).
  pending: ['processing', 'cancelled'],
  // ok, retry later (scheduled), retry now (pending: retry due now, graceful release), give up, cancel.
  processing: ['completed', 'scheduled', 'pending', 'failed', 'cancelled'],
  completed: [],
  // a manual retry puts a finished job back in line.
  failed: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Operations users ask for, and the statuses each starts from (a subset of TRANSITIONS). */
export const OPERATIONS = {
  cancel: { from: ['waiting', 'scheduled', 'pending', 'processing'], to: 'cancelled' },
  retry: { from: ['failed', 'cancelled'], to: 'pending' },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: JobStatus }>;
export type Operation = keyof typeof OPERATIONS;

/** Throws `illegal_transition` when `op` may not start from `from`. */
export function assertOperation(id: string, op: Operation, from: JobStatus): void {
  const { from: allowed, to } = OPERATIONS[op];
  if (!(allowed as readonly JobStatus[]).includes(from) || !canTransition(from, to)) {
    throw new JobqError('illegal_transition', `job ${id} cannot ${op}: it is ${from} (${op} goes from ${allowed.join(' or ')} to ${to})`);
  }
}

export function isFinished(status: JobStatus): status is FinishedStatus {
  return (FINISHED_STATUSES as readonly JobStatus[]).includes(status);
}

/** One failed attempt, kept on the job (the first and the most recent ones: see MAX_ERRORS_KEPT). */
export interface JobError {
  attempt: number;
  message: string;
  stack?: string;
  /** Epoch ms. */
  at: number;
}

/**
 * A job keeps its first error and the most recent ones, 20 in all, however
 * often it is retried: the first says how it started going wrong, the last
 * say what is wrong now, and the row stays small.
 */
export const MAX_ERRORS_KEPT = 20;

/** What a waiting job does when one of its dependencies fails for good or is cancelled. */
export const DEPENDENCY_POLICIES = ['fail', 'cancel', 'ignore'] as const;
export type DependencyPolicy = (typeof DEPENDENCY_POLICIES)[number];

/** A job as stored. Times are epoch milliseconds; `null` where not reached yet. */
export interface Job<Payload = unknown, Result = unknown> {
  /** Server-generated UUIDv7: unique and sortable by creation time. */
  id: string;
  queue: string;
  /** Handler name. */
  type: string;
  payload: Payload;
  status: JobStatus;
  /** Higher runs first. */
  priority: number;
  /** Attempts started so far (a claim starts one; a graceful release gives it back). */
  attempts: number;
  maxAttempts: number;
  /** Per-attempt time limit; null means none. */
  timeoutMs: number | null;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  result: Result | null;
  errors: JobError[];
  progress: number | null;
  leaseExpiresAt: number | null;
  /** Unique key: while the job is active (and for `uniqueForMs` after its creation), no other job gets it. */
  key: string | null;
  /** Jobs this one waits for (status `waiting` until all completed). */
  dependsOn: string[];
  /** Flow control: at most the queue's perKeyConcurrency jobs of one key run at once; keys are served fairly (each idle key in turn, then the least used). */
  concurrencyKey: string | null;
  /** Flow control: the key of the queue's perKeyRateLimit (defaults to concurrencyKey). */
  rateKey: string | null;
  /** W3C trace context of the enqueue when a tracer was active (its handler runs in a child span); null or absent otherwise. */
  traceContext?: TraceContext | null;
}

/** A W3C trace context (https://www.w3.org/TR/trace-context/) as stored with a job. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** A job as handed to a worker: it carries the lease that fences its finish. */
export interface LeasedJob<Payload = unknown> extends Job<Payload> {
  leaseToken: string;
}

/** The fence of a leased job: every change its worker makes names both. */
export interface LeaseRef {
  id: string;
  leaseToken: string;
}
