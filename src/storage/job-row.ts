/**
 * The row shape shared by the SQL backends (snake_case columns, JSON as text,
 * times as epoch ms) and its mapping to the public Job.
 */
import type { Job, JobError, JobStatus, LeasedJob } from '../core/job.js';

export interface JobRow {
  seq: number;
  id: string;
  queue: string;
  type: string;
  payload: string;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  result: string | null;
  errors: string;
  progress: number | null;
  lease_token: string | null;
  lease_expires_at: number | null;
}

const NO_ERRORS = '[]';

export function rowToJob(row: JobRow): Job {
  return {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payload: JSON.parse(row.payload) as unknown,
    status: row.status as JobStatus,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    runAt: row.run_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    // Most jobs never failed: skip the parse for the common case.
    errors: row.errors === NO_ERRORS ? [] : (JSON.parse(row.errors) as JobError[]),
    progress: row.progress,
    leaseExpiresAt: row.lease_expires_at,
  };
}

export function rowToLeasedJob(row: JobRow): LeasedJob {
  return { ...rowToJob(row), leaseToken: row.lease_token ?? '' };
}
