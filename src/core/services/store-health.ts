/**
 * Whether the store can serve right now, for /readyz and for operators.
 * Any store_unavailable seen anywhere marks it failing; while failing it is
 * probed every second (a read and a write that changes nothing) and marked
 * healthy again as soon as a probe passes. While healthy it is probed every
 * few seconds, so a database that went read-only is noticed without traffic.
 */
import type { Logger } from 'pino';
import { isJobqError } from '../../contracts/errors.js';
import type { Store } from '../../contracts/store.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Service } from './service.js';

export class StoreHealth implements Service {
  readonly name = 'store-health';
  private ok = true;
  private reason = '';
  private timer: TimerHandle | null = null;
  private stopped = true;
  private probing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly healthyIntervalMs = 5000,
    private readonly failingIntervalMs = 1000,
  ) {}

  get healthy(): boolean {
    return this.ok;
  }

  get lastError(): string {
    return this.reason;
  }

  /** Feeds an error seen by any caller; only store_unavailable counts. */
  observe(err: unknown): void {
    if (!isJobqError(err, 'store_unavailable') || (err.message === 'the store is closed')) return;
    this.markFailing(err.message);
  }

  private markFailing(reason: string): void {
    this.reason = reason;
    if (this.ok) {
      this.ok = false;
      this.logger.warn({ reason }, 'store unavailable: reporting not ready until it answers again');
      this.arm(this.failingIntervalMs);
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(this.ok ? this.healthyIntervalMs : this.failingIntervalMs);
  }

  /** Probes now. */
  probe(): Promise<void> {
    this.probing ??= (async () => {
      try {
        await this.store.ping();
        if (!this.ok) this.logger.info('store available again: ready');
        this.ok = true;
        this.reason = '';
      } catch (err) {
        this.markFailing(isJobqError(err) ? err.message : String(err));
      } finally {
        this.probing = null;
      }
    })();
    return this.probing;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.probe().then(() => this.arm(this.ok ? this.healthyIntervalMs : this.failingIntervalMs));
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.probing;
  }
}
