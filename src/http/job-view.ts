/** How a job looks over HTTP: the seed's fields (id, payload, status, createdAt) plus the rest, times as ISO 8601. */
import type { Job } from '../contracts/job.js';
import type { ListedJob } from '../contracts/store.js';
import { memoLast } from '../core/memo-last.js';

const toIso = (ms: number) => new Date(ms).toISOString();
const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

/** Per time field: neighbouring jobs repeat their times (memo-last.ts). */
const runAtIso = memoLast(toIso);
const createdAtIso = memoLast(toIso);
const startedAtIso = memoLast(toIso);
const updatedAtIso = memoLast(toIso);
const leaseIso = memoLast(toIso);

/** A job, or a listed job whose payload and result were left out. */
export function jobView(job: Job | ListedJob) {
  const view: Record<string, unknown> = {
    id: job.id,
    queue: job.queue,
    type: job.type,
  };
  if ('payload' in job) view.payload = job.payload;
  view.status = job.status;
  view.priority = job.priority;
  view.attempts = job.attempts;
  view.maxAttempts = job.maxAttempts;
  view.timeoutMs = job.timeoutMs;
  view.runAt = runAtIso(job.runAt);
  view.createdAt = createdAtIso(job.createdAt);
  view.startedAt = startedAtIso(job.startedAt);
  view.finishedAt = iso(job.finishedAt);
  view.updatedAt = updatedAtIso(job.updatedAt);
  if ('result' in job) view.result = job.result;
  view.errors = job.errors.map((e) => ({ ...e, at: iso(e.at) }));
  view.progress = job.progress;
  view.leaseExpiresAt = leaseIso(job.leaseExpiresAt);
  view.key = job.key;
  view.dependsOn = job.dependsOn;
  view.concurrencyKey = job.concurrencyKey;
  view.rateKey = job.rateKey;
  // An enqueue's answer says whether the key was held (the holder came back).
  if ('deduplicated' in job && job.deduplicated) {
    view.deduplicated = true;
    view.replaced = (job as { replaced?: boolean }).replaced === true;
  }
  return view;
}

/** Short form used in bulk answers, so a 1,000-job answer stays small. */
export function jobSummary(job: Pick<Job, 'id' | 'queue' | 'type' | 'status' | 'runAt'> & { deduplicated?: boolean }) {
  const s: Record<string, unknown> = { id: job.id, queue: job.queue, type: job.type, status: job.status, runAt: runAtIso(job.runAt) };
  if (job.deduplicated) s.deduplicated = true;
  return s;
}
