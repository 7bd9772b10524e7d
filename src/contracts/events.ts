/**
 * Job events: one per transition, emitted after the store confirmed it (and
 * `progress` and `lease_lost`, which report without moving the job). The
 * in-process bus delivers them synchronously to subscribers; stores that can
 * carry them to other processes do so in batches (never one message per job).
 */
import type { JobStatus } from './job.js';

export const JOB_EVENT_KINDS = [
  'enqueued', // inserted (pending or scheduled)
  'started', // claimed by a worker: processing, attempt counted
  'progress', // the handler reported progress
  'completed',
  'retrying', // an attempt failed; runs again at runAt
  'failed', // failed for good (attempts exhausted or permanent)
  'cancelled',
  'rescued', // its lease expired; back in line (status pending/scheduled) or failed
  'released', // given back unstarted on graceful shutdown or a lost claim reply; no attempt spent
  'retried', // a failed or cancelled job put back in line by hand
  'ready', // a waiting job whose dependencies all completed: now pending or scheduled
  'throttled', // the handler said the remote side throttles: back in line, attempt not spent
  'lease_lost', // a worker of the emitting node found its lease gone (taken back or claimed again); its result is dropped. No transition
] as const;
export type JobEventKind = (typeof JOB_EVENT_KINDS)[number];

export interface JobEvent {
  kind: JobEventKind;
  jobId: string;
  queue: string;
  type: string;
  /** The attempt the event belongs to (0 before the first claim). */
  attempt: number;
  /** Status of the job after the event (lease_lost, which changes nothing: the job's status as read when the loss was found). */
  status: JobStatus;
  /** Epoch ms of the transition. */
  at: number;
  /** retrying / rescued to scheduled: when it runs again. */
  runAt?: number;
  /** progress: the value reported. */
  progress?: number;
  /** started: epoch ms the job became due (max(runAt, createdAt)); the attempt waited `at - dueAt`. */
  dueAt?: number;
  /** retrying / failed / rescued: the error message. */
  error?: string;
}

/** Which events a subscriber wants; every given field must match. */
export interface JobEventFilter {
  kinds?: readonly JobEventKind[];
  queue?: string;
  type?: string;
  jobId?: string;
}

export function eventMatches(e: JobEvent, f: JobEventFilter | undefined): boolean {
  if (!f) return true;
  return (
    (f.jobId === undefined || f.jobId === e.jobId) &&
    (f.queue === undefined || f.queue === e.queue) &&
    (f.type === undefined || f.type === e.type) &&
    (f.kinds === undefined || f.kinds.includes(e.kind))
  );
}
