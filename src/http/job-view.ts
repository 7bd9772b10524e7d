/** How a job looks over HTTP: the seed's fields (id, payload, status, createdAt) plus the rest, times as ISO 8601. */
import type { Job } from '../core/job.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobView(job: Job) {
  return {
    id: job.id,
    queue: job.queue,
    type: job.type,
    payload: job.payload,
    status: job.status,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeoutMs,
    runAt: iso(job.runAt),
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    updatedAt: iso(job.updatedAt),
    result: job.result,
    errors: job.errors.map((e) => ({ ...e, at: iso(e.at) })),
    progress: job.progress,
    leaseExpiresAt: iso(job.leaseExpiresAt),
  };
}

/** Short form used in bulk answers, so a 1,000-job answer stays small. */
export function jobSummary(job: Job) {
  return { id: job.id, queue: job.queue, type: job.type, status: job.status, runAt: iso(job.runAt) };
}
