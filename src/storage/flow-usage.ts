/**
 * How much of a flow-controlled queue each concurrency key has used lately:
 * its running count integrated over time (slot-milliseconds), halving every
 * USAGE_HALF_LIFE_MS. Claims give the slots left after every idle key got one
 * to the keys that used least, so a tenant that arrives behind another's big
 * backlog takes most of the capacity until its usage catches up, instead of
 * half of it (running counts alone forget a busy key the moment its jobs
 * finish together).
 *
 * Each store instance keeps its own, fed from the cluster-wide running counts
 * its claims read: no storage and no write per claim. Nodes that claim often
 * see about the same figures; where they differ, only the order of the
 * slots beyond the idle keys' differs, never a limit.
 *
 * A claim costs the keys running since the previous one, not every key seen
 * lately: a key's figure is decayed when it is read or added to, and keys
 * whose use faded are swept once the map has doubled since the last sweep.
 */

/** The time over which a key's past use halves. */
export const USAGE_HALF_LIFE_MS = 1000;
/** Below this (slot-milliseconds) an idle key's usage is forgotten. */
const FORGET_BELOW = 1;
/** Entries kept at least, before a sweep is worth its walk. */
const SWEEP_FLOOR = 1024;

/** Each key's recent use (slot-milliseconds) as of the claim that read it. */
export type UsageOf = (key: string | null) => number;

interface Used {
  value: number;
  /** When `value` was last brought up to date. */
  at: number;
}

interface QueueUsage {
  at: number;
  byKey: Map<string | null, Used>;
  /** Jobs running per key after the last claim (its reading plus its picks): what ran since. */
  running: Map<string | null, number>;
  /** Entries after the last sweep. */
  swept: number;
}

const decayed = (u: Used, now: number): number => (now <= u.at ? u.value : u.value * 2 ** (-(now - u.at) / USAGE_HALF_LIFE_MS));

export class KeyUsage {
  private readonly queues = new Map<string, QueueUsage>();

  /**
   * Brings the queue's figures up to `now` and returns how to read them: what
   * ran after the previous claim counts as running until now. `runningByKey`
   * is this claim's reading.
   */
  observe(queue: string, runningByKey: ReadonlyMap<string | null, number>, now: number): UsageOf {
    let q = this.queues.get(queue);
    if (!q) this.queues.set(queue, (q = { at: now, byKey: new Map(), running: new Map(), swept: 0 }));
    // Clocks of a store's callers may step back a little: no time passes then.
    const dt = Math.max(0, now - q.at);
    const at = Math.max(q.at, now);
    q.at = at;
    if (dt > 0) {
      for (const [key, n] of q.running) {
        const u = q.byKey.get(key);
        if (u) {
          u.value = decayed(u, at) + n * dt;
          u.at = at;
        } else q.byKey.set(key, { value: n * dt, at });
      }
    }
    q.running = new Map(runningByKey);
    if (q.byKey.size > Math.max(SWEEP_FLOOR, 2 * q.swept)) this.sweep(q, at);
    const byKey = q.byKey;
    return (key) => {
      const u = byKey.get(key);
      return u ? decayed(u, at) : 0;
    };
  }

  /** The claim's picks: they run from now on. */
  started(queue: string, picks: readonly { concurrencyKey: string | null }[]): void {
    const running = this.queues.get(queue)?.running;
    if (running) for (const p of picks) running.set(p.concurrencyKey, (running.get(p.concurrencyKey) ?? 0) + 1);
  }

  /** How many keys the queue's figures hold (for tests and diagnostics). */
  keysKept(queue: string): number {
    return this.queues.get(queue)?.byKey.size ?? 0;
  }

  /** Keys in use by no one whose use faded below FORGET_BELOW. */
  private sweep(q: QueueUsage, now: number): void {
    for (const [key, u] of q.byKey) if (!q.running.has(key) && decayed(u, now) < FORGET_BELOW) q.byKey.delete(key);
    q.swept = q.byKey.size;
  }
}
