/**
 * Runs claimed jobs: one QueueLoop per queue claims, this pool executes the
 * handlers, heartbeats every lease in one store call, batches finishes through
 * a group committer, and on stop drains, then releases what is still running.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './clock.js';
import { PermanentJobError } from './errors.js';
import type { AbortReason, HandlerMap, JobContext } from './handler.js';
import type { LeasedJob } from './job.js';
import { failureOutcome, successOutcome } from './job-outcome.js';
import type { ResolvedOptions } from './options.js';
import { QueueLoop } from './queue-loop.js';
import { GroupCommitter } from './group-commit.js';
import type { JobFinish, JobOutcome, Store } from '../storage/store.js';

interface RunningJob {
  job: LeasedJob;
  loop: QueueLoop;
  /** Created on first use of ctx.signal: most handlers never look (4 % of a no-op job's cost). */
  controller: AbortController | null;
  abortReason: AbortReason | null;
  timeoutTimer: TimerHandle | null;
  /** Set once the slot is given back; later settles of the handler are ignored. */
  done: boolean;
}

export interface WorkerPoolDeps {
  options: ResolvedOptions;
  clock: Clock;
  logger: Logger;
  retryDelayMs: (attempt: number) => number;
}

export class WorkerPool {
  private readonly store: Store;
  private readonly handlers: HandlerMap;
  private readonly loops = new Map<string, QueueLoop>();
  private readonly running = new Map<string, RunningJob>();
  private readonly finisher: GroupCommitter<JobFinish, boolean>;
  private readonly unfinishedWrites = new Set<Promise<unknown>>();
  private heartbeatTimer: TimerHandle | null = null;
  private rescueTimer: TimerHandle | null = null;
  private onIdle: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private started = false;

  constructor(private readonly deps: WorkerPoolDeps) {
    const o = deps.options;
    this.store = o.store;
    this.handlers = o.handlers;
    this.finisher = new GroupCommitter(async (finishes) => {
      const applied = new Set(await this.store.jobFinishMany({ finishes, now: deps.clock.now() }));
      return finishes.map((f) => applied.has(f.id));
    }, o.maxCommitBatch);
    for (const [name, q] of Object.entries(o.queues)) {
      this.loops.set(
        name,
        new QueueLoop(name, q.concurrency, {
          store: this.store,
          clock: deps.clock,
          logger: deps.logger,
          leaseMs: o.leaseMs,
          pollIntervalMs: o.pollIntervalMs,
          run: (job, loop) => this.run(job, loop),
        }),
      );
    }
  }

  get runningCount(): number {
    return this.running.size;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const loop of this.loops.values()) loop.start();
    this.scheduleHeartbeat();
    this.scheduleRescue(0);
  }

  /** Jobs may have arrived in `queue` (or in any queue when omitted). */
  notify(queue?: string): void {
    if (queue === undefined) for (const loop of this.loops.values()) loop.notify();
    else this.loops.get(queue)?.notify();
  }

  /** A job of `queue` falls due at `runAt`. */
  scheduledAt(queue: string, runAt: number): void {
    this.loops.get(queue)?.scheduledAt(runAt);
  }

  /** Stops a locally running job whose row was changed elsewhere (e.g. cancelled); its result is discarded. */
  abortLocal(id: string, reason: AbortReason): void {
    const rj = this.running.get(id);
    if (rj) this.giveUp(rj, reason);
  }

  private run(job: LeasedJob, loop: QueueLoop): void {
    const rj: RunningJob = { job, loop, controller: null, abortReason: null, timeoutTimer: null, done: false };
    this.running.set(job.id, rj);
    const logger = this.deps.logger;
    let log: Logger | undefined;
    const jobLog = () => (log ??= logger.child({ jobId: job.id, queue: job.queue, type: job.type, attempt: job.attempts }));
    if (logger.isLevelEnabled('debug')) jobLog().debug('job processing');
    const handler = this.handlers[job.type];
    if (!handler) {
      this.settle(rj, false, new PermanentJobError(`no handler registered for type "${job.type}"`));
      return;
    }
    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      rj.timeoutTimer = this.deps.clock.setTimer(() => {
        if (rj.done) return;
        abort(rj, 'timeout');
        this.settle(rj, false, new Error(`timed out after ${ms} ms`));
      }, ms);
    }
    const ctx: JobContext = {
      get signal() {
        if (!rj.controller) {
          rj.controller = new AbortController();
          if (rj.abortReason) rj.controller.abort(rj.abortReason);
        }
        return rj.controller.signal;
      },
      attempt: job.attempts,
      get log() {
        return jobLog();
      },
      progress: async (value) => {
        if (rj.done || !Number.isFinite(value)) return;
        await this.track(this.store.jobSetProgress({ id: job.id, leaseToken: job.leaseToken, progress: value, now: this.deps.clock.now() }));
      },
    };
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(job, ctx));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.settle(rj, true, value),
      (err: unknown) => this.settle(rj, false, err),
    );
  }

  /** Frees the slot; the job's row is left to whoever changed it (cancel, rescuer) or to release on shutdown. */
  private giveUp(rj: RunningJob, reason: AbortReason): void {
    if (rj.done) return;
    this.freeSlot(rj);
    abort(rj, reason);
    this.deps.logger.warn({ jobId: rj.job.id, reason }, 'job abandoned; its result will be discarded');
  }

  private freeSlot(rj: RunningJob): void {
    rj.done = true;
    rj.timeoutTimer?.cancel();
    this.running.delete(rj.job.id);
    rj.loop.slotFreed();
    if (this.running.size === 0) this.onIdle?.();
  }

  private settle(rj: RunningJob, ok: boolean, value: unknown): void {
    if (rj.done) return;
    this.freeSlot(rj);
    const now = this.deps.clock.now();
    const outcome: JobOutcome = ok ? successOutcome(value, rj.job, now) : failureOutcome(value, rj.job, now, this.deps.retryDelayMs);
    const { job } = rj;
    const write = this.finisher.add([{ id: job.id, leaseToken: job.leaseToken, outcome }]).then(
      ([applied]) => {
        const log = this.deps.logger;
        if (!applied) log.warn({ jobId: job.id }, 'lease lost before the job finished; outcome discarded');
        else if (outcome.kind === 'retry') {
          log.debug({ jobId: job.id, runAt: outcome.runAt, err: outcome.error.message }, 'job retry scheduled');
          this.scheduledAt(job.queue, outcome.runAt);
        } else log.debug({ jobId: job.id, err: outcome.kind === 'failed' ? outcome.error.message : undefined }, `job ${outcome.kind}`);
      },
      (err: unknown) => this.deps.logger.error({ err, jobId: job.id }, 'could not record the job outcome; the lease will expire and the job run again'),
    );
    void this.track(write);
  }

  private track<T>(p: Promise<T>): Promise<T | undefined> {
    const guarded = p.catch((err: unknown) => {
      this.deps.logger.error({ err }, 'store write failed');
      return undefined;
    });
    this.unfinishedWrites.add(guarded);
    void guarded.finally(() => this.unfinishedWrites.delete(guarded));
    return guarded;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.deps.clock.setTimer(() => void this.heartbeat(), this.deps.options.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    const live = [...this.running.values()].filter((rj) => !rj.done);
    if (live.length > 0) {
      try {
        const kept = new Set(
          await this.store.jobExtendLeases({
            leases: live.map((rj) => ({ id: rj.job.id, leaseToken: rj.job.leaseToken })),
            now: this.deps.clock.now(),
            leaseMs: this.deps.options.leaseMs,
          }),
        );
        for (const rj of live) if (!kept.has(rj.job.id)) this.giveUp(rj, 'lease_lost');
      } catch (err) {
        this.deps.logger.error({ err }, 'heartbeat failed; leases may expire');
      }
    }
    if (this.heartbeatTimer) this.scheduleHeartbeat();
  }

  private scheduleRescue(delayMs: number): void {
    this.rescueTimer = this.deps.clock.setTimer(() => void this.rescue(), delayMs);
  }

  private async rescue(): Promise<void> {
    try {
      const rescued = await this.store.jobRescueExpired({ now: this.deps.clock.now(), limit: 1000, retryDelayMs: this.deps.retryDelayMs });
      if (rescued.length > 0) {
        this.deps.logger.warn({ count: rescued.length }, 'rescued jobs whose lease expired');
        this.notify();
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'rescue failed');
    }
    if (this.rescueTimer) this.scheduleRescue(this.deps.options.rescueIntervalMs);
  }

  /**
   * Stops claiming, gives running jobs `graceMs` to finish, releases the rest
   * back to pending without spending their attempt, and writes every outcome.
   * Calling it again returns the same promise.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.drainAndRelease(graceMs);
    return this.stopping;
  }

  private async drainAndRelease(graceMs: number): Promise<void> {
    for (const loop of this.loops.values()) loop.stop();
    this.rescueTimer?.cancel();
    this.rescueTimer = null;
    if (this.running.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.deps.clock.setTimer(resolve, graceMs);
        this.onIdle = () => {
          timer.cancel();
          resolve();
        };
      });
    }
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    const leftover = [...this.running.values()];
    for (const rj of leftover) {
      this.freeSlot(rj);
      abort(rj, 'shutdown');
    }
    if (leftover.length > 0) {
      const leases = leftover.map((rj) => ({ id: rj.job.id, leaseToken: rj.job.leaseToken }));
      const released = await this.track(this.store.jobReleaseMany({ leases, now: this.deps.clock.now() }));
      this.deps.logger.info({ released: released?.length ?? 0 }, 'released unfinished jobs back to pending');
    }
    await this.finisher.drain();
    while (this.unfinishedWrites.size > 0) await Promise.all([...this.unfinishedWrites]);
  }
}

function abort(rj: RunningJob, reason: AbortReason): void {
  rj.abortReason ??= reason;
  rj.controller?.abort(reason);
}
