/**
 * Node-wide background work (rescuing leases, pruning, announcing the node,
 * watching the store's health) as small services with one shape. `Jobq`
 * starts them all, even on a node that works no queues, and stops them on
 * close. A periodic service runs its tick, then waits its interval (a slow
 * tick never overlaps the next); with a `leader`, it ticks only while this
 * node holds that leadership.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';

export interface Service {
  readonly name: string;
  start(): void;
  /** Stops after the tick under way, if any. Idempotent. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  name: string;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** Delay before the first tick. @defaultValue 0 */
  initialDelayMs?: number;
  /** Run only while this returns true (checked before each tick). */
  when?: () => boolean;
  tick(): Promise<void>;
}

export class PeriodicService implements Service {
  readonly name: string;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(private readonly o: PeriodicOptions) {
    this.name = o.name;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(this.o.initialDelayMs ?? 0);
  }

  /** Runs a tick now (joins one under way). */
  runNow(): Promise<void> {
    if (this.running) return this.running;
    const run = (async () => {
      try {
        if (this.o.when === undefined || this.o.when()) await this.o.tick();
      } catch (err) {
        this.o.logger.error({ err, service: this.name }, `${this.name} failed; trying again in ${this.o.intervalMs} ms`);
      }
    })();
    // Cleared when this run settles, never before it was stored (a run that skips its tick
    // settles synchronously: clearing inside it would leave the settled promise here for good).
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
    return run;
  }

  private arm(ms: number): void {
    this.timer = this.o.clock.setTimer(() => {
      this.timer = null;
      void this.runNow().then(() => {
        if (!this.stopped) this.arm(this.o.intervalMs);
      });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running;
  }
}
