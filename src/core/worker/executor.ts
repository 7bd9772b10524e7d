/**
 * Runs one handler for one leased job: builds its context (a lazy signal,
 * the attempt, progress, a lazy logger), enforces its time limit, and turns
 * whatever it returns or throws into an outcome for the pool to write.
 */
import type { Logger } from 'pino';
import { PermanentJobError } from '../../contracts/errors.js';
import type { Job, LeasedJob } from '../../contracts/job.js';
import type { Clock } from '../clock.js';
import type { HandlerMap } from '../handler.js';
import type { RunHooks } from './run-hooks.js';
import { abortRun, RunContext, type ContextHost } from './job-context.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';

export interface ExecutorDeps {
  handlers: HandlerMap;
  /** This Jobq's wrappers around each run (`jobq.onRun`). */
  hooks: RunHooks;
  running: RunningJobs;
  clock: Clock;
  logger: Logger;
  /** The handler returned (`ok`) or threw; called once, after the slot was freed. */
  settled(rj: RunningJob, ok: boolean, value: unknown): void;
  progress(rj: RunningJob, value: number): Promise<void>;
  /** An earlier attempt of a job claimed again here was given up: its lease was lost. */
  abandoned(stale: RunningJob): void;
  dependencies(id: string): Promise<Job[]>;
}

/**
 * Tracing's hook (src/tracing): runs a handler inside a span. Null unless
 * tracing is enabled: the hot path then pays one property check. Process-wide
 * (OpenTelemetry's provider is); a Jobq's own wrappers (run-hooks.ts) run
 * inside it.
 */
export const runHook: { wrap: ((job: LeasedJob, run: () => unknown) => unknown) | null } = { wrap: null };

export class Executor implements ContextHost<RunningJob> {
  readonly logger: Logger;

  constructor(private readonly deps: ExecutorDeps) {
    this.logger = deps.logger;
  }

  progress(rj: RunningJob, value: number): Promise<void> {
    return this.deps.progress(rj, value);
  }

  dependencies(rj: RunningJob): Promise<Job[]> {
    return this.deps.dependencies(rj.job.id);
  }

  run(job: LeasedJob): RunningJob {
    const { deps } = this;
    const rj: RunningJob = { job, controller: null, abortReason: null, timeoutTimer: null, done: false, startedAt: performance.now() };
    const stale = deps.running.add(rj);
    const ctx = new RunContext(rj, this);
    if (stale) {
      ctx.log.warn({ staleAttempt: stale.job.attempts }, 'claimed again while an earlier attempt still ran here (its lease was lost); that attempt is abandoned');
      deps.abandoned(stale);
    }
    if (deps.logger.isLevelEnabled('debug')) ctx.log.debug('job processing');
    const handler = deps.handlers[job.type];
    if (!handler) {
      // Claims take only types this node handles; a handler removed since is the one way here.
      this.settle(rj, false, new PermanentJobError(`no handler registered for type "${job.type}"`));
      return rj;
    }
    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      rj.timeoutTimer = deps.clock.setTimer(() => {
        if (rj.done) return;
        abortRun(rj, 'timeout');
        this.settle(rj, false, new Error(`timed out after ${ms} ms`));
      }, ms);
    }
    const hooks = deps.hooks;
    const invoke = hooks.size === 0 ? () => handler(job, ctx) : () => hooks.run(job, () => handler(job, ctx));
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(runHook.wrap ? runHook.wrap(job, invoke) : invoke());
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.settle(rj, true, value),
      (err: unknown) => this.settle(rj, false, err),
    );
    return rj;
  }

  private settle(rj: RunningJob, ok: boolean, value: unknown): void {
    if (!this.deps.running.remove(rj)) return;
    this.deps.settled(rj, ok, value);
  }
}
