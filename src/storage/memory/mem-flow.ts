/**
 * Flow control state of the memory store: rate windows (start times per
 * queue and rate key), holds set by throttled jobs, the round-robin
 * cursor of each queue and each key's recent use. The decisions are storage/flow-plan.ts's.
 */
import type { Window } from '../flow-plan.js';
import { KeyUsage } from '../flow-usage.js';

export class MemFlow {
  private readonly starts = new Map<string, number[]>();
  private readonly holds = new Map<string, number>();
  readonly cursors = new Map<string, string | null>();
  readonly usage = new KeyUsage();

  private static id(queue: string, key: string | null): string {
    return `${queue}\u0000${key ?? ''}`;
  }

  window(queue: string, key: string | null, now: number, intervalMs: number): Window {
    const list = this.starts.get(MemFlow.id(queue, key));
    if (!list) return { count: 0, oldest: null };
    while (list.length > 0 && list[0]! <= now - intervalMs) list.shift();
    return { count: list.length, oldest: list[0] ?? null };
  }

  started(queue: string, key: string | null, now: number): void {
    const id = MemFlow.id(queue, key);
    let list = this.starts.get(id);
    if (!list) this.starts.set(id, (list = []));
    list.push(now);
  }

  /** Holds for the queue ('' key) and its rate keys that have not run out at `now`. */
  holdsOf(queue: string, now: number): Map<string, number> {
    const out = new Map<string, number>();
    const prefix = `${queue}\u0000`;
    for (const [id, until] of this.holds) {
      if (!id.startsWith(prefix)) continue;
      if (until <= now) this.holds.delete(id);
      else out.set(id.slice(prefix.length), until);
    }
    return out;
  }

  hold(queue: string, key: string | null, until: number): void {
    const id = MemFlow.id(queue, key);
    this.holds.set(id, Math.max(this.holds.get(id) ?? 0, until));
  }
}
