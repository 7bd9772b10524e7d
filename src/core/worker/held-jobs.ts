/**
 * The jobs a dispatch loop claimed ahead of its free slots (claim-ahead.ts):
 * leased (the lease keeper heartbeats them), in claim order, the next to
 * start when a slot frees. When none of them got a slot for `holdMs()` (a
 * slow job keeps the slots), the whole line goes to `onStale`, to be given
 * back to the queue, and `gaveBack` says so until a slot frees (`next()`):
 * the owner claims none ahead meanwhile, or a store that announces the
 * release would have it take them straight back. A null holdMs holds them
 * however long.
 */
import type { LeasedJob } from '../../contracts/job.js';
import type { Clock, TimerHandle } from '../clock.js';

export class HeldJobs {
  private line: LeasedJob[] = [];
  /** One timer per line, not one per job started: when it fires it looks at movedAt. */
  private timer: TimerHandle | null = null;
  /** When a job of the line last started, or the line formed: the hold counts from here. */
  private movedAt = 0;
  private gave = false;

  constructor(
    private readonly clock: Clock,
    private readonly holdMs: () => number | null,
    private readonly onStale: (jobs: LeasedJob[]) => void,
  ) {}

  get jobs(): readonly LeasedJob[] {
    return this.line;
  }

  get size(): number {
    return this.line.length;
  }

  /** The line went back to the queue (onStale) and no slot has freed since. */
  get gaveBack(): boolean {
    return this.gave;
  }

  add(jobs: readonly LeasedJob[]): void {
    if (jobs.length === 0) return;
    if (this.line.length === 0) this.movedAt = this.clock.now();
    this.line.push(...jobs);
    this.arm(this.holdMs());
  }

  /** A slot freed: the next in claim order, taken out (the rest may wait as long again). */
  next(): LeasedJob | undefined {
    this.gave = false;
    const job = this.line.shift();
    if (job) this.movedAt = this.clock.now();
    if (this.line.length === 0) this.disarm();
    return job;
  }

  /** Takes one out (its row changed elsewhere, or its lease was lost); undefined if it is not held here (under that lease, when given). */
  drop(id: string, leaseToken?: string): LeasedJob | undefined {
    const at = this.line.findIndex((j) => j.id === id && (leaseToken === undefined || j.leaseToken === leaseToken));
    if (at < 0) return undefined;
    const [job] = this.line.splice(at, 1);
    if (this.line.length === 0) this.disarm();
    return job;
  }

  /** Empties the line (on stop) and returns what it held. */
  takeAll(): LeasedJob[] {
    this.disarm();
    const all = this.line;
    this.line = [];
    return all;
  }

  private arm(delayMs: number | null): void {
    if (this.timer || this.line.length === 0 || delayMs === null) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      const holdMs = this.holdMs();
      if (this.line.length === 0 || holdMs === null) return;
      const waited = this.clock.now() - this.movedAt;
      if (waited < holdMs) return this.arm(holdMs - waited);
      this.gave = true;
      this.onStale(this.takeAll());
    }, delayMs);
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
