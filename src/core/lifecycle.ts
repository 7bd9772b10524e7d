/** Turns what a handler did into what the store records: completed, retry at T, or failed. */
import type { JobError, LeasedJob } from './job.js';
import { isPermanent } from './errors.js';
import type { JobOutcome } from '../storage/store.js';

const MAX_MESSAGE_CHARS = 8 * 1024;
const MAX_STACK_CHARS = 16 * 1024;

function describeThrown(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) {
    const out: { message: string; stack?: string } = { message: err.message || err.name };
    if (typeof err.stack === 'string') out.stack = err.stack.slice(0, MAX_STACK_CHARS);
    return out;
  }
  let text: string;
  try {
    text = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    text = Object.prototype.toString.call(err);
  }
  return { message: `non-Error thrown: ${text}` };
}

export function toJobError(err: unknown, attempt: number, now: number): JobError {
  const { message, stack } = describeThrown(err);
  const e: JobError = { attempt, message: message.slice(0, MAX_MESSAGE_CHARS), at: now };
  if (stack !== undefined) e.stack = stack;
  return e;
}

export function successOutcome(result: unknown, job: LeasedJob, now: number): JobOutcome {
  let resultJson: string | null;
  try {
    resultJson = result === undefined ? null : (JSON.stringify(result) ?? null);
  } catch (err) {
    return { kind: 'failed', error: toJobError(new Error(`handler result is not JSON-serializable: ${(err as Error).message}`), job.attempts, now) };
  }
  return { kind: 'completed', resultJson };
}

export function failureOutcome(err: unknown, job: LeasedJob, now: number, delayMs: (attempt: number) => number): JobOutcome {
  const error = toJobError(err, job.attempts, now);
  if (isPermanent(err) || job.attempts >= job.maxAttempts) return { kind: 'failed', error };
  return { kind: 'retry', runAt: now + delayMs(job.attempts), error };
}
