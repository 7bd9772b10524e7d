/**
 * Recent waits (due → start) per queue, for the live view's p50/p99: a ring
 * of the last `size` samples per queue, sorted only when asked (a dashboard
 * refresh, not per event). Fed from every node's `started` events.
 */
export class RecentWaits {
  private readonly rings = new Map<string, { values: Float64Array; n: number }>();
  constructor(
    private readonly size = 1000,
    /** Queues kept; samples of further queues are dropped. */
    private readonly maxQueues = Infinity,
  ) {}

  add(queue: string, seconds: number): void {
    let r = this.rings.get(queue);
    if (!r) {
      if (this.rings.size >= this.maxQueues) return;
      this.rings.set(queue, (r = { values: new Float64Array(this.size), n: 0 }));
    }
    r.values[r.n % this.size] = seconds;
    r.n++;
  }

  /** p50 and p99 of the last samples (seconds), or null without any. */
  quantiles(queue: string): { p50: number; p99: number; samples: number } | null {
    const r = this.rings.get(queue);
    if (!r || r.n === 0) return null;
    const v = Array.from(r.values.subarray(0, Math.min(r.n, this.size))).sort((a, b) => a - b);
    const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
    return { p50: at(0.5), p99: at(0.99), samples: v.length };
  }
}
