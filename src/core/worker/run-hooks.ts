/**
 * Wrappers around every handler run of one Jobq (`jobq.onRun`): metrics time
 * runs here, whatever handler runs, registered before or after them. They
 * compose in the order added (the first added is outermost) and run inside
 * tracing's process-wide hook (executor.ts `runHook`), so a wrapper sees the
 * job's span as the active one. With none added the executor calls the
 * handler directly: the hot path pays one length check.
 */
import type { LeasedJob } from '../../contracts/job.js';

/**
 * Wraps one handler run: call `run()` once and return what it resolves to (or
 * let its rejection through). Whatever the wrapper returns is the attempt's
 * result; a wrapper that throws fails the attempt.
 */
export type RunWrapper = (job: LeasedJob, run: () => Promise<unknown>) => Promise<unknown>;

export class RunHooks {
  private wrappers: readonly RunWrapper[] = [];

  get size(): number {
    return this.wrappers.length;
  }

  /** Adds a wrapper; the returned function removes it (idempotent). Runs already under way keep theirs. */
  add(wrapper: RunWrapper): () => void {
    // A fresh array each time: a run composes the list it started with.
    this.wrappers = [...this.wrappers, wrapper];
    let added = true;
    return () => {
      if (!added) return;
      added = false;
      this.wrappers = this.wrappers.filter((w) => w !== wrapper);
    };
  }

  /** Runs `handler` through every wrapper; a synchronous throw anywhere becomes a rejection. */
  run(job: LeasedJob, handler: () => unknown): Promise<unknown> {
    const wrappers = this.wrappers;
    const step = (i: number): Promise<unknown> => {
      try {
        return Promise.resolve(i === wrappers.length ? handler() : wrappers[i]!(job, () => step(i + 1)));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return step(0);
  }
}
