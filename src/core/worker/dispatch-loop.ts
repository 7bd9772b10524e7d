/**
 * The claim loop of one queue in one process. It claims up to its free slots
 * in one store call, hands the jobs to the pool, and sleeps until woken: by a
 * local enqueue, a change seen in a shared store, a freed slot while more work
 * may be waiting, the next scheduled job falling due, or the poll interval.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './clock.js';
import type { LeasedJob } from './job.js';
import type { Store } from '../storage/store.js';

export interface QueueLoopDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  pollIntervalMs: number;
  run(job: LeasedJob, loop: QueueLoop): void;
}

export class QueueLoop {
  active = 0;
  private stopped = true;
  private claiming = false;
  private scheduled = false;
  /** Cleared when a claim came back short; set by any hint that work arrived. */
  private maybeMore = true;
  private wokenWhileClaiming = false;
  private pollTimer: TimerHandle | null = null;
  private dueTimer: TimerHandle | null = null;
  private dueAt = Infinity;

  constructor(
    readonly name: string,
    readonly concurrency: number,
    private readonly deps: QueueLoopDeps,
  ) {}

  start(): void {
    this.stopped = false;
    this.maybeMore = true;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.pollTimer?.cancel();
    this.dueTimer?.cancel();
    this.pollTimer = this.dueTimer = null;
    this.dueAt = Infinity;
  }

  /** Work may have arrived. */
  notify(): void {
    this.maybeMore = true;
    if (this.claiming) this.wokenWhileClaiming = true;
    else this.schedule();
  }

  /** A slot freed; claim again only if the queue may still hold work. */
  slotFreed(): void {
    this.active--;
    if (this.maybeMore) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // setImmediate coalesces every wake-up of one tick (e.g. 50 finished jobs) into one claim.
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    const free = this.concurrency - this.active;
    if (this.stopped || this.claiming || free <= 0) return;
    this.claiming = true;
    this.wokenWhileClaiming = false;
    this.pollTimer?.cancel();
    this.pollTimer = null;
    const { store, clock } = this.deps;
    let jobs: LeasedJob[];
    try {
      jobs = await store.jobClaim({ queue: this.name, limit: free, now: clock.now(), leaseMs: this.deps.leaseMs, leaseToken: randomUUID() });
    } catch (err) {
      this.claiming = false;
      this.deps.logger.error({ err, queue: this.name }, 'claim failed; retrying after the poll interval');
      this.idle();
      return;
    }
    this.claiming = false;
    for (const job of jobs) {
      this.active++;
      this.deps.run(job, this);
    }
    if (this.stopped) return;
    if (jobs.length === free || this.wokenWhileClaiming) {
      this.maybeMore = true;
      if (this.active < this.concurrency) this.schedule();
    } else {
      this.maybeMore = false;
      this.idle();
      void this.armDueTimer();
    }
  }

  private idle(): void {
    if (this.stopped || this.pollTimer) return;
    this.pollTimer = this.deps.clock.setTimer(() => {
      this.pollTimer = null;
      this.notify();
    }, this.deps.pollIntervalMs);
  }

  /** Wakes the loop when the earliest scheduled job falls due, if sooner than the next poll. */
  private async armDueTimer(): Promise<void> {
    let next: number | null;
    try {
      next = await this.deps.store.jobNextRunAt(this.name);
    } catch {
      return; // the poll covers it
    }
    if (next !== null) this.scheduledAt(next);
  }

  /** A job due at `runAt` was just written by this process. */
  scheduledAt(runAt: number): void {
    if (runAt >= this.dueAt || this.stopped) return;
    this.dueTimer?.cancel();
    this.dueAt = runAt;
    this.dueTimer = this.deps.clock.setTimer(() => {
      this.dueTimer = null;
      this.dueAt = Infinity;
      this.notify();
    }, runAt - this.deps.clock.now());
  }
}
