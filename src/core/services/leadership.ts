/**
 * Cluster-wide leadership for services that must run once per cluster (the
 * pruner; later the cron scheduler). On Postgres it is an advisory lock held
 * on a dedicated connection: lost the moment that connection drops, taken by
 * another node at its next attempt. Elsewhere it is a lease row renewed by
 * its holder (in memory, the one node is always the leader). Either way a
 * killed leader is replaced within one renewal interval plus the lease.
 */
import type { Logger } from 'pino';
import type { LeaderLock, Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import { PeriodicService, type Service } from './service.js';

export interface LeadershipOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  name: string;
  /** How often the holder renews (and others try). */
  intervalMs: number;
}

export class Leadership implements Service {
  readonly name: string;
  private leader = false;
  private readonly lock: LeaderLock | null;
  private readonly loop: PeriodicService;
  private readonly listeners: ((leader: boolean) => void)[] = [];

  constructor(private readonly o: LeadershipOptions) {
    this.name = `leadership:${o.name}`;
    this.lock = o.store.leaderLock?.(o.name) ?? null;
    this.loop = new PeriodicService({ name: this.name, clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, tick: () => this.tick() });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    this.loop.start();
  }

  /** Tries (again) now; resolves with whether this node leads. */
  async check(): Promise<boolean> {
    await this.loop.runNow();
    return this.leader;
  }

  private async tick(): Promise<void> {
    let held: boolean;
    try {
      held = this.lock
        ? await this.lock.tryAcquire()
        : await this.o.store.leaderTryAcquire({ name: this.o.name, nodeId: this.o.nodeId, now: this.o.clock.now(), ttlMs: this.o.intervalMs * 3 });
    } catch (err) {
      held = false;
      this.o.logger.warn({ err, leadership: this.o.name }, 'could not renew leadership; stepping down');
    }
    this.set(held);
  }

  private set(held: boolean): void {
    if (held === this.leader) return;
    this.leader = held;
    this.o.logger.info({ leadership: this.o.name, node: this.o.nodeId }, held ? 'became leader' : 'no longer leader');
    for (const fn of this.listeners) fn(held);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    const wasLeader = this.leader;
    if (wasLeader) this.set(false);
    try {
      // A lock holds its connection on every node that tried, leader or not: release closes it.
      if (this.lock) await this.lock.release();
      else if (wasLeader) await this.o.store.leaderRelease({ name: this.o.name, nodeId: this.o.nodeId });
    } catch {
      // The lease runs out on its own.
    }
  }
}
