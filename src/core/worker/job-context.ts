/**
 * The context a handler gets, built one way for an in-process run
 * (executor.ts) and a remote worker's (client/remote-run.ts): a signal made
 * on first use (most handlers never look), the attempt, a lazy logger,
 * progress that stops once the slot was given back, and the job's
 * dependencies. One object per run and nothing else until the handler
 * reaches for a part: its host (the executor, the remote worker) answers for
 * every run. Type imports only, so jobq/client can use it.
 */
import type { Logger } from 'pino';
import type { Job, LeasedJob } from '../../contracts/job.js';
import type { AbortReason, JobContext } from '../handler.js';

/** A run's abort state: the controller exists only once the handler asked for its signal. */
export interface AbortableRun {
  job: LeasedJob;
  controller: AbortController | null;
  abortReason: AbortReason | null;
  /** The slot was given back; progress and late settles are ignored. */
  done: boolean;
}

export function abortRun(run: AbortableRun, reason: AbortReason): void {
  run.abortReason ??= reason;
  run.controller?.abort(reason);
}

/** What a context asks of whoever runs the job, for the run given. */
export interface ContextHost<R extends AbortableRun> {
  logger: Logger;
  progress(run: R, value: number): Promise<void>;
  dependencies(run: R): Promise<Job[]>;
}

export class RunContext<R extends AbortableRun> implements JobContext {
  private logger: Logger | null = null;
  private progressFn: ((value: number) => Promise<void>) | null = null;
  private dependenciesFn: (() => Promise<Job[]>) | null = null;

  constructor(
    private readonly run: R,
    private readonly host: ContextHost<R>,
  ) {}

  get signal(): AbortSignal {
    const run = this.run;
    if (!run.controller) {
      run.controller = new AbortController();
      if (run.abortReason) run.controller.abort(run.abortReason);
    }
    return run.controller.signal;
  }

  get attempt(): number {
    return this.run.job.attempts;
  }

  get log(): Logger {
    const { job } = this.run;
    return (this.logger ??= this.host.logger.child({ jobId: job.id, queue: job.queue, type: job.type, attempt: job.attempts }));
  }

  // Functions made on first use, and bound: handlers destructure them (`{ progress }`).
  get progress(): (value: number) => Promise<void> {
    return (this.progressFn ??= async (value) => {
      if (this.run.done || !Number.isFinite(value)) return;
      await this.host.progress(this.run, value);
    });
  }

  get dependencies(): () => Promise<Job[]> {
    return (this.dependenciesFn ??= () => this.host.dependencies(this.run));
  }
}
