/**
 * One loop per queue: claims jobs from its source into the free slots and
 * hands them to the pool. It claims again when woken: a local enqueue, a
 * commit by another process on a shared store, a freed slot while more work
 * may be waiting, the next scheduled job falling due, or the poll interval.
 * Short jobs are claimed a few ahead of the free slots (claim-ahead.ts):
 * they wait here, leased, and start the moment a slot frees.
 */
import type { Logger } from 'pino';
import type { LeasedJob } from '../../contracts/job.js';
import type { ClaimedJobs } from '../../contracts/store.js';
import type { Clock, TimerHandle } from '../clock.js';
import { ClaimAhead, IN_PROCESS_AUTO_MAX } from './claim-ahead.js';
import { HeldJobs } from './held-jobs.js';
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
  /** Jobs claimed ahead (a number, or null for 'auto': see claim-ahead.ts). */
  prefetch: number | null;
  /** Jobs claimed ahead that will not start here (they came back after stop(), or waited too long): to be released unstarted. */
  giveBack(jobs: LeasedJob[]): void;
}

export class DispatchLoop {
  private stopped = true;
  private claiming = false;
  private scheduled = false;
  /** Cleared when a claim came back short; set by any hint that work arrived. */
  private maybeMore = true;
  /** The last claim was held back by a cluster-wide limit. */
  private limited = false;
  /** The queue's claims go through flow control (or no claim said yet): nothing is claimed ahead of the slots. */
  private flowControlled = true;
  private wokenWhileClaiming = false;
  private pollTimer: TimerHandle | null = null;
  private dueTimer: TimerHandle | null = null;
  private dueAt = Infinity;
  private readonly ahead: ClaimAhead;
  /** Claimed ahead, leased: the next to start when a slot frees. */
  private readonly held: HeldJobs;

  constructor(
    readonly queue: string,
    readonly concurrency: number,
    private readonly deps: DispatchLoopDeps,
  ) {
    this.ahead = new ClaimAhead(concurrency, deps.prefetch, IN_PROCESS_AUTO_MAX);
    this.held = new HeldJobs(deps.clock, () => this.ahead.holdMs, (jobs) => this.giveBackStale(jobs));
  }

  /** Jobs claimed ahead and not started (the lease keeper heartbeats them too). */
  get waitingJobs(): readonly LeasedJob[] {
    return this.held.jobs;
  }

  /** Takes a waiting job out (its row changed elsewhere, or its lease was lost); undefined if it was not waiting here. */
  dropWaiting(id: string): LeasedJob | undefined {
    return this.held.drop(id);
  }

  /** A job of this queue held its slot this long (handler start to settle): the 'auto' prefetch follows it. */
  ran(ms: number): void {
    this.ahead.ran(ms);
  }

  start(): void {
    this.stopped = false;
    this.maybeMore = true;
    this.schedule();
  }

  /** Stops claiming; returns the jobs claimed ahead, for the caller to release. */
  stop(): LeasedJob[] {
    this.stopped = true;
    this.pollTimer?.cancel();
    this.dueTimer?.cancel();
    this.pollTimer = this.dueTimer = null;
    this.dueAt = Infinity;
    return this.held.takeAll();
  }

  /** Work may have arrived. */
  notify(): void {
    this.maybeMore = true;
    if (this.claiming) this.wokenWhileClaiming = true;
    else this.schedule();
  }

  /** A slot of this queue freed; claim again only if the queue may still hold work. */
  slotFreed(): void {
    // A job claimed ahead takes the slot at once; the claim that refills the line goes after it.
    this.startWaiting(1);
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

  /** Starts up to `n` jobs claimed ahead, oldest first (none once stopped); `n` slots are free. */
  private startWaiting(n: number): void {
    for (let i = 0; i < n && !this.stopped; i++) {
      const job = this.held.next();
      if (!job) return;
      this.deps.run(job);
    }
  }

  /** Held jobs that got no slot for too long (held-jobs.ts), given back to the queue. */
  private giveBackStale(jobs: LeasedJob[]): void {
    // It claims again when a slot frees, whether or not the store announces the release.
    this.maybeMore = true;
    this.deps.logger.debug({ queue: this.queue, jobs: jobs.length }, 'jobs claimed ahead waited too long for a slot; given back to the queue');
    this.deps.giveBack(jobs);
  }

  private async pump(): Promise<void> {
    this.startWaiting(this.concurrency - this.deps.running.count(this.queue));
    const free = this.concurrency - this.deps.running.count(this.queue);
    // Not on a flow-controlled queue: jobs held here would take slots, and turns, that other keys or nodes could use now.
    const want = free + (this.flowControlled || this.held.gaveBack ? 0 : this.ahead.jobs) - this.held.size;
    if (this.stopped || this.claiming || want <= 0) return;
    this.claiming = true;
    this.wokenWhileClaiming = false;
    this.pollTimer?.cancel();
    this.pollTimer = null;
    let jobs: ClaimedJobs;
    const sent = performance.now();
    try {
      jobs = await this.deps.source.claim({ queue: this.queue, max: want, types: this.deps.types(), leaseMs: this.deps.leaseMs });
      this.ahead.travelled(performance.now() - sent);
    } catch (err) {
      this.claiming = false;
      this.deps.logger.error({ err, queue: this.queue }, 'claim failed; retrying after the poll interval');
      this.idle();
      return;
    }
    this.claiming = false;
    this.limited = jobs.limited === true;
    this.flowControlled = jobs.flowControlled === true;
    // Slots may have freed while the claim travelled (and waiting jobs taken them): fill what is free now.
    let room = this.concurrency - this.deps.running.count(this.queue);
    const extra: LeasedJob[] = [];
    for (const job of jobs) {
      if (room-- > 0) this.deps.run(job);
      else extra.push(job);
    }
    if (this.stopped) {
      if (extra.length > 0) this.deps.giveBack(extra);
      return;
    }
    this.held.add(extra);
    if (jobs.length === want || this.wokenWhileClaiming) {
      this.maybeMore = true;
      if (this.deps.running.count(this.queue) < this.concurrency) this.schedule();
    } else {
      // Held back by a cluster-wide limit, not out of work: a slot freed here may let the next start.
      this.maybeMore = jobs.limited === true;
      this.idle();
      // A limit held jobs back: wake when the next may start, never sleep through to the poll.
      if (jobs.wakeAt !== undefined) this.scheduledAt(jobs.wakeAt);
      else if (jobs.nextRunAt !== undefined) this.scheduledAt(jobs.nextRunAt);
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

  /** Wakes the loop when the earliest scheduled job falls due, if sooner than the next poll (read apart: the claim did not say). */
  private async armDueTimer(): Promise<void> {
    let next: number | null;
    try {
      next = await this.deps.source.nextRunAt(this.queue);
    } catch {
      return; // the poll covers it
    }
    this.scheduledAt(next);
  }

  /** A job of this queue falls due at `runAt` (null: none is scheduled). */
  scheduledAt(runAt: number | null): void {
    if (runAt === null || runAt >= this.dueAt || this.stopped) return;
    this.dueTimer?.cancel();
    this.dueAt = runAt;
    this.dueTimer = this.deps.clock.setTimer(() => {
      this.dueTimer = null;
      this.dueAt = Infinity;
      this.notify();
    }, runAt - this.deps.clock.now());
  }
}
