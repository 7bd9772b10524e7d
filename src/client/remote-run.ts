/**
 * Runs one handler for one remotely leased job, with the context a handler
 * gets in process (core/worker/executor.ts): a lazy signal, the attempt,
 * progress, dependencies, a logger; the job's time limit enforced; what it
 * returns or throws turned into the finish the server is told.
 */
import { isPermanent, isRateLimited } from '../contracts/errors.js';
import type { Job, LeasedJob } from '../contracts/job.js';
import type { AbortReason, Handler } from '../core/handler.js';
import { describeThrown, handlerFrames } from '../core/lifecycle.js';
import { abortRun, RunContext } from '../core/worker/job-context.js';
import type { FinishJson, RemoteErrorJson } from './lease-client.js';
import type { Logger } from 'pino';

export interface RemoteRunning {
  job: LeasedJob;
  controller: AbortController | null;
  abortReason: AbortReason | null;
  timer: NodeJS.Timeout | null;
  /** The slot was given back; a late settle of the handler is ignored. */
  done: boolean;
  /** performance.now() when the handler was called. */
  startedAt: number;
}

export interface RunDeps {
  logger: Logger;
  progress(job: LeasedJob, value: number): Promise<void>;
  dependencies(job: LeasedJob): Promise<Job[]>;
  /** The handler returned or threw (once, unless the job was given up first). */
  settled(rj: RemoteRunning, finish: FinishJson): void;
  /** Frees the slot; false when it was freed already. */
  release(rj: RemoteRunning): boolean;
}

/** A thrown value as the server stores it: the core's description, jobq's own frames and Node's internals left out of the stack (the server bounds its size). */
function describe(err: unknown): RemoteErrorJson {
  const { message, stack } = describeThrown(err);
  return stack === undefined ? { message } : { message, stack: handlerFrames(stack) };
}

/** What the server is told when the handler threw: retried unless permanent; a throttle as such (the attempt given back, as in process). */
export function failureFinish(job: LeasedJob, err: unknown): FinishJson {
  const base = { id: job.id, leaseToken: job.leaseToken, outcome: 'failed' as const, error: describe(err) };
  if (isPermanent(err)) return { ...base, retryable: false };
  if (isRateLimited(err)) return { ...base, rateLimited: { retryAfterMs: err.retryAfterMs, scope: err.scope } };
  return base;
}

export function successFinish(job: LeasedJob, result: unknown): FinishJson {
  try {
    // The server stores JSON: a result that is not JSON fails the job, as in process.
    if (result !== undefined && JSON.stringify(result) === undefined) return { id: job.id, leaseToken: job.leaseToken, outcome: 'completed' };
  } catch (err) {
    return failureFinish(job, Object.assign(new Error(`handler result is not JSON-serializable: ${(err as Error).message}`), { permanent: true }));
  }
  return { id: job.id, leaseToken: job.leaseToken, outcome: 'completed', ...(result !== undefined && { result }) };
}

export function runRemote(job: LeasedJob, handler: Handler, deps: RunDeps): RemoteRunning {
  const rj: RemoteRunning = { job, controller: null, abortReason: null, timer: null, done: false, startedAt: performance.now() };
  const settle = (finish: FinishJson) => {
    if (!deps.release(rj)) return;
    deps.settled(rj, finish);
  };
  if (job.timeoutMs !== null) {
    const ms = job.timeoutMs;
    rj.timer = setTimeout(() => {
      if (rj.done) return;
      abortRun(rj, 'timeout');
      settle(failureFinish(job, new Error(`timed out after ${ms} ms`)));
    }, ms);
  }
  const ctx = new RunContext(rj, { logger: deps.logger, progress: (r, value) => deps.progress(r.job, value), dependencies: (r) => deps.dependencies(r.job) });
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(handler(job, ctx));
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (value) => settle(successFinish(job, value)),
    (err: unknown) => settle(failureFinish(job, err)),
  );
  return rj;
}
