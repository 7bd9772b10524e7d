/**
 * Keeps the leases of every running job alive with one store call per
 * interval (leaseMs / 3 by default), whatever the number of jobs. A job whose
 * lease could not be extended (cancelled elsewhere, rescued after a stall)
 * is given up: its signal fires with `lease_lost` and its result is dropped.
 *
 * A heartbeat that fires late (the event loop was blocked) extends at once,
 * and the rescuer of this node calls extendNow() before it looks for expired
 * leases, so a node coming out of a long stall never rescues its own jobs.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { LeasedJob } from '../../contracts/job.js';
import type { LeaseApi } from '../leases/lease-api.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';

export interface LeaseKeeperDeps {
  leases: LeaseApi;
  running: RunningJobs;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  intervalMs: number;
  lost(rj: RunningJob): void;
  /** Jobs claimed ahead, leased and not started: heartbeated with the running ones (a fresh list: losing one drops it from its line). */
  waiting(): readonly LeasedJob[];
  /** A waiting job whose lease could not be extended: it must not start. */
  lostWaiting(job: LeasedJob): void;
}

export class LeaseKeeper {
  private timer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  start(): void {
    if (!this.timer) this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(): void {
    this.timer = this.deps.clock.setTimer(() => {
      void this.extendNow().finally(() => {
        if (this.timer) this.arm();
      });
    }, this.deps.intervalMs);
  }

  /** Extends every running lease now (joins a heartbeat already under way). */
  extendNow(): Promise<void> {
    this.inFlight ??= this.heartbeat().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async heartbeat(): Promise<void> {
    const live = this.deps.running.list().filter((rj) => !rj.done);
    const waiting = this.deps.waiting();
    if (live.length === 0 && waiting.length === 0) return;
    const leases = [...live.map((rj) => rj.job), ...waiting].map((j) => ({ id: j.id, leaseToken: j.leaseToken }));
    try {
      const kept = new Set(await this.deps.leases.extend(leases, this.deps.leaseMs));
      for (const rj of live) if (!kept.has(rj.job.id) && !rj.done) this.deps.lost(rj);
      for (const job of waiting) if (!kept.has(job.id)) this.deps.lostWaiting(job);
    } catch (err) {
      this.deps.logger.error({ err }, 'heartbeat failed; leases may expire');
    }
  }
}
