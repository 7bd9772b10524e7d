/**
 * Every lifecycle decision in one place: what a handler's result or error,
 * an expired lease or a lost claim turns a job into. Stores only apply these
 * outcomes under their fence; they never choose a status or a run time.
 */
import { isPermanent, isRateLimited } from '../contracts/errors.js';
import type { JobError, LeasedJob } from '../contracts/job.js';
import type { ExpiredLease, JobOutcome } from '../contracts/store.js';
import { MAX_DELAY_MS } from './input-limits.js';
import { storableText } from './storable-text.js';

const MAX_MESSAGE_CHARS = 8 * 1024;
const MAX_STACK_CHARS = 16 * 1024;

export type RetryDelay = (attempt: number) => number;

/** A thrown value's message and stack as they are (an Error's, or a description of anything else). */
export function describeThrown(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) {
    const out: { message: string; stack?: string } = { message: String(err.message || err.name) };
    if (typeof err.stack === 'string') out.stack = err.stack;
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

/** jobq's own compiled sources (dist/src/), as paths and as file URLs: their frames are noise in a handler's stack. */
const OWN_SOURCES = [new URL('../', import.meta.url).href, decodeURIComponent(new URL('../', import.meta.url).pathname)];

/**
 * A stack as the handler's author needs it: the message and the handler's
 * own frames, without jobq's (executor, promise plumbing) or Node's internals.
 * Lines that are not frames (a multi-line message) are kept as they are.
 */
export function handlerFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) || !(line.includes('node:internal/') || OWN_SOURCES.some((own) => line.includes(own))))
    .join('\n');
}

/** A thrown value as a stored error: storable text on every backend, bounded in size, jobq's own frames left out. */
export function toJobError(err: unknown, attempt: number, now: number): JobError {
  const { message, stack } = describeThrown(err);
  const e: JobError = { attempt, message: storableText(message, MAX_MESSAGE_CHARS), at: now };
  if (stack !== undefined) e.stack = storableText(handlerFrames(stack), MAX_STACK_CHARS);
  return e;
}

/** Back in line at `runAt`: pending if that is already due, else scheduled. */
export function retryAt(runAt: number, error: JobError, now: number): JobOutcome {
  return { kind: 'retry', status: runAt <= now ? 'pending' : 'scheduled', runAt, error };
}

export function successOutcome(result: unknown, job: LeasedJob, now: number, maxResultBytes: number): JobOutcome {
  let resultJson: string | null;
  try {
    resultJson = result === undefined ? null : (JSON.stringify(result) ?? null);
  } catch (err) {
    return { kind: 'failed', error: toJobError(new Error(`handler result is not JSON-serializable: ${(err as Error).message}`), job.attempts, now) };
  }
  if (resultJson !== null && resultJson.length > maxResultBytes && Buffer.byteLength(resultJson) > maxResultBytes) {
    const error = toJobError(new Error(`handler result is ${Buffer.byteLength(resultJson)} bytes of JSON; the limit is ${maxResultBytes}`), job.attempts, now);
    return { kind: 'failed', error };
  }
  return { kind: 'completed', resultJson };
}

export function failureOutcome(err: unknown, job: Pick<LeasedJob, 'attempts' | 'maxAttempts' | 'rateKey'>, now: number, delay: RetryDelay): JobOutcome {
  if (isRateLimited(err)) {
    // Not a failure of the job: the attempt is given back, and its key (or the queue) waits.
    const runAt = now + (Number.isFinite(err.retryAfterMs) ? Math.min(err.retryAfterMs, MAX_DELAY_MS) : MAX_DELAY_MS);
    return { kind: 'throttled', status: runAt <= now ? 'pending' : 'scheduled', runAt, holdKey: err.scope === 'queue' ? null : job.rateKey };
  }
  const error = toJobError(err, job.attempts, now);
  if (isPermanent(err) || job.attempts >= job.maxAttempts) return { kind: 'failed', error };
  return retryAt(now + delay(job.attempts), error, now);
}

/** A lease ran out: the job did start, so the attempt is spent. */
export function rescueOutcome(lease: ExpiredLease, now: number, delay: RetryDelay): JobOutcome {
  const error: JobError = { attempt: lease.attempts, message: 'lease expired: the worker stopped heartbeating', at: now };
  if (lease.attempts >= lease.maxAttempts) return { kind: 'failed', error };
  return retryAt(now + delay(lease.attempts), error, now);
}

/** An outcome that could not be written (e.g. a result the database refuses) becomes a failure saying so. */
export function unstorableOutcome(original: JobOutcome, cause: unknown, attempt: number, now: number): JobOutcome {
  const code = (cause as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : cause instanceof Error ? cause.name : 'error';
  return { kind: 'failed', error: { attempt, message: `the job's ${original.kind === 'completed' ? 'result' : 'outcome'} could not be stored (${why})`, at: now } };
}
