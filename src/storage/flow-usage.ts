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
 */

/** The time over which a key's past use halves. */
export const USAGE_HALF_LIFE_MS = 1000;
/** Below this (slot-milliseconds) an idle key's usage is forgotten. */
const FORGET_BELOW = 1;

interface QueueUsage {
  at: number;
  byKey: Map<string | null, number>;
  /** Jobs running per key after the last claim (its reading plus its picks): what ran since. */
  running: Map<string | null, number>;
}

export class KeyUsage {
  private readonly queues = new Map<string, QueueUsage>();

  /**
   * Brings the queue's figures up to `now` and returns them: what ran after
   * the previous claim counts as running until now. `runningByKey` is this
   * claim's reading.
   */
  observe(queue: string, runningByKey: ReadonlyMap<string | null, number>, now: number): ReadonlyMap<string | null, number> {
    let q = this.queues.get(queue);
    if (!q) this.queues.set(queue, (q = { at: now, byKey: new Map(), running: new Map() }));
    // Clocks of a store's callers may step back a little: no time passes then.
    const dt = Math.max(0, now - q.at);
    q.at = Math.max(q.at, now);
    if (dt > 0) {
      const decay = 2 ** (-dt / USAGE_HALF_LIFE_MS);
      for (const [key, used] of q.byKey) q.byKey.set(key, used * decay);
      for (const [key, n] of q.running) q.byKey.set(key, (q.byKey.get(key) ?? 0) + n * dt);
      for (const [key, used] of q.byKey) if (used < FORGET_BELOW && !runningByKey.has(key)) q.byKey.delete(key);
    }
    q.running = new Map(runningByKey);
    return q.byKey;
  }

  /** The claim's picks: they run from now on. */
  started(queue: string, picks: readonly { concurrencyKey: string | null }[]): void {
    const running = this.queues.get(queue)?.running;
    if (running) for (const p of picks) running.set(p.concurrencyKey, (running.get(p.concurrencyKey) ?? 0) + 1);
  }
}
