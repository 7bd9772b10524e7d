/**
 * The context a handler gets, built one way for an in-process run
 * (executor.ts) and a remote worker's (client/remote-run.ts): a signal made
 * on first use (most handlers never look), the attempt, a lazy logger,
 * progress that stops once the slot was given back, and the job's
 * dependencies. Type imports only, so jobq/client can use it.
 */
import type { Logger } from 'pino';
import type { Job } from '../../contracts/job.js';
import type { AbortReason, JobContext } from '../handler.js';

/** A run's abort state: the controller exists only once the handler asked for its signal. */
export interface AbortableRun {
  controller: AbortController | null;
  abortReason: AbortReason | null;
  /** The slot was given back; progress and late settles are ignored. */
  done: boolean;
}

export function abortRun(run: AbortableRun, reason: AbortReason): void {
  run.abortReason ??= reason;
  run.controller?.abort(reason);
}

export interface ContextSources {
  attempt: number;
  log: () => Logger;
  progress: (value: number) => Promise<void>;
  dependencies: () => Promise<Job[]>;
}

export function jobContext(run: AbortableRun, sources: ContextSources): JobContext {
  return {
    get signal() {
      if (!run.controller) {
        run.controller = new AbortController();
        if (run.abortReason) run.controller.abort(run.abortReason);
      }
      return run.controller.signal;
    },
    attempt: sources.attempt,
    get log() {
      return sources.log();
    },
    progress: async (value) => {
      if (run.done || !Number.isFinite(value)) return;
      await sources.progress(value);
    },
    dependencies: sources.dependencies,
  };
}
