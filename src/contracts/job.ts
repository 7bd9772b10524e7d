/**
 * The job model: one string union of statuses, one table of legal transitions.
 * Everything that changes a job's status goes through {@link assertTransition}
 * (in the stores), so an illegal move is an error and never a silent overwrite.
 */
import { JobqError } from './errors.js';

export const JOB_STATUSES = ['scheduled', 'pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Legal transitions, from → allowed targets. See docs/architecture.md for the diagram. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // runAt reached, or cancelled before it ran.
  scheduled: ['pending', 'cancelled'],
  // claimed by a worker, cancelled, or pushed back (pause does not move jobs).
  pending: ['processing', 'cancelled'],
  // ok, retry later (scheduled), retry now (pending: graceful release or rescue), give up, cancel.
  processing: ['completed', 'scheduled', 'pending', 'failed', 'cancelled'],
  completed: [],
  // a manual retry puts a finished job back in line.
  failed: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(id: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) {
    throw new JobqError('illegal_transition', `job ${id} cannot go from ${from} to ${to}`);
  }
}

/** Operations users ask for, and the statuses each starts from (a subset of TRANSITIONS). */
export const OPERATIONS = {
  cancel: { from: ['scheduled', 'pending', 'processing'], to: 'cancelled' },
  retry: { from: ['failed', 'cancelled'], to: 'pending' },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: JobStatus }>;

export function assertOperation(id: string, op: keyof typeof OPERATIONS, from: JobStatus): void {
  const { from: allowed, to } = OPERATIONS[op];
  if (!(allowed as readonly JobStatus[]).includes(from)) {
    throw new JobqError('illegal_transition', `job ${id} cannot ${op}: it is ${from} (${op} goes from ${allowed.join(' or ')} to ${to})`);
  }
  assertTransition(id, from, to);
}

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/** One failed attempt, kept on the job. */
export interface JobError {
  attempt: number;
  message: string;
  stack?: string;
  /** Epoch ms. */
  at: number;
}

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
}

/** A job as handed to a worker: it carries the lease that fences its finish. */
export interface LeasedJob<Payload = unknown> extends Job<Payload> {
  leaseToken: string;
}
