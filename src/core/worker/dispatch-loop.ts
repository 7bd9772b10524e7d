/**
 * One loop per queue: claims jobs from its source into the free slots and
 * hands them to the pool. It claims again when woken: a local enqueue, a
 * commit by another process on a shared store, a freed slot while more work
 * may be waiting, the next scheduled job falling due, or the poll interval.
 */
import type { Logger } from 'pino';
import type { LeasedJob } from '../../contracts/job.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { ClaimSource } from './claim-source.js';
import type { RunningJobs } from './running-jobs.js';

export interface DispatchLoopDeps {
  source: ClaimSource;
  running: RunningJobs;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  pollIntervalMs: number;
  /** The job types this node has handlers for: it claims nothing else. */
  types(): readonly string[];
  run(job: LeasedJob): void;
}

export class DispatchLoop {
  private stopped = true;
  private claiming = false;
  private scheduled = false;
  /** Cleared when a claim came back short; set by any hint that work arrived. */
  private maybeMore = true;
  /** The last claim was held back by a cluster-wide limit. */
  private limited = false;
  private wokenWhileClaiming = false;
  private pollTimer: TimerHandle | null = null;
  private dueTimer: TimerHandle | null = null;
  private dueAt = Infinity;

  constructor(
    readonly queue: string,
    readonly concurrency: number,
    private readonly deps: DispatchLoopDeps,
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

  /** A slot of this queue freed; claim again only if the queue may still hold work. */
  slotFreed(): void {
    if (!this.maybeMore) return;
    // A slot freed under a claim in flight (a cluster-wide limit may have counted it as taken): claim again after it.
    if (this.claiming) this.wokenWhileClaiming = true;
    else this.schedule();
  }

  /**
   * A job of this queue was finished in the store: under a cluster-wide limit
   * its slot only frees now (the local slot freed when the handler returned).
   */
  finishCommitted(): void {
    if (this.limited) this.slotFreed();
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
    const free = this.concurrency - this.deps.running.count(this.queue);
    if (this.stopped || this.claiming || free <= 0) return;
    this.claiming = true;
    this.wokenWhileClaiming = false;
    this.pollTimer?.cancel();
    this.pollTimer = null;
    let jobs: LeasedJob[] & { wakeAt?: number; limited?: boolean };
    try {
      jobs = await this.deps.source.claim({ queue: this.queue, max: free, types: this.deps.types(), leaseMs: this.deps.leaseMs });
    } catch (err) {
      this.claiming = false;
      this.deps.logger.error({ err, queue: this.queue }, 'claim failed; retrying after the poll interval');
      this.idle();
      return;
    }
    this.claiming = false;
    this.limited = jobs.limited === true;
    for (const job of jobs) this.deps.run(job);
    if (this.stopped) return;
    if (jobs.length === free || this.wokenWhileClaiming) {
      this.maybeMore = true;
      if (this.deps.running.count(this.queue) < this.concurrency) this.schedule();
    } else {
      // Held back by a cluster-wide limit, not out of work: a slot freed here may let the next start.
      this.maybeMore = jobs.limited === true;
      this.idle();
      // A limit held jobs back: wake when the next may start, never sleep through to the poll.
      if (jobs.wakeAt !== undefined) this.scheduledAt(jobs.wakeAt);
      else void this.armDueTimer();
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
      next = await this.deps.source.nextRunAt(this.queue);
    } catch {
      return; // the poll covers it
    }
    if (next !== null) this.scheduledAt(next);
  }

  /** A job of this queue falls due at `runAt`. */
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
