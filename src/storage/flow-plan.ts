/**
 * Which jobs a claim on a flow-controlled queue may start, decided the same
 * way on every backend from what the store read in the claim's transaction:
 * the running counts, the starts inside each rate window, the holds set by
 * throttled jobs, and the ready jobs of each concurrency key.
 *
 * Fairness: every key with nothing running gets a slot first, in turn (round
 * robin from where the previous claim stopped), so a key with a huge backlog
 * cannot starve the others. The slots left go to the keys that used least
 * lately (flow-usage.ts: running jobs over time), counting the jobs each runs
 * or was just given, ties in turn: a key that just got work takes most of the
 * capacity until it caught up with the busy ones, instead of half of it.
 * Priority orders jobs within a key. A claim that comes back short
 * because of a limit says so (`limited`) and, when a rate window or a hold
 * decides it, when the next job may start (`wakeAt`).
 */
import type { ClaimedJobs, QueueSettings } from '../contracts/store.js';
import type { UsageOf } from './flow-usage.js';

/**
 * The SQL stores keep the keyless jobs of a flow-controlled queue under this
 * concurrency key (never a user's: keys have at least one character), so one
 * index holds every group in order, the keyless group first; read back, it is
 * null. The plan sees it as the null group.
 */
export const KEYLESS = '';

export interface FlowCandidate {
  seq: number;
  concurrencyKey: string | null;
  rateKey: string | null;
}

export interface Window {
  /** Starts inside the window ending now. */
  count: number;
  /** The oldest of them (it leaves the window at oldest + intervalMs). */
  oldest: number | null;
}

export interface FlowState {
  settings: QueueSettings;
  now: number;
  /** Slots this node offers. */
  limit: number;
  runningTotal: number;
  runningByKey: ReadonlyMap<string | null, number>;
  queueWindow: Window;
  /** By rate key. */
  keyWindows: ReadonlyMap<string, Window>;
  /** Until when a rate key (or, under '', the whole queue) starts nothing. */
  holds: ReadonlyMap<string, number>;
  /** Ready jobs per concurrency key, keys in round-robin order, jobs in claim order. */
  groups: readonly { key: string | null; jobs: readonly FlowCandidate[] }[];
  /** Each key's recent use in slot-milliseconds (flow-usage.ts). */
  usage: UsageOf;
}

export interface FlowPlan {
  picks: FlowCandidate[];
  /** The key the next claim starts after (round robin). */
  lastKey: string | null | undefined;
  limited: boolean;
  wakeAt: number | undefined;
  /**
   * Groups (by index) none of whose jobs on offer could start for their rate
   * keys: a store that offered only the first few of a group's jobs may look
   * deeper (a job of a free rate key can sit behind them) and plan again.
   */
  rateStarved: number[];
}

/**
 * What a claim on a flow-controlled queue tells the worker beside its jobs:
 * that the queue is flow-controlled (the worker claims none ahead of its
 * slots: jobs held waiting would take slots, and turns, that another key or
 * node could use now), whether a limit held jobs back, and when the next may
 * start.
 */
export function flowClaimed(claimed: ClaimedJobs, plan: FlowPlan): ClaimedJobs {
  claimed.flowControlled = true;
  if (plan.limited) claimed.limited = true;
  if (plan.wakeAt !== undefined) claimed.wakeAt = plan.wakeAt;
  return claimed;
}

/** The most jobs of one group a claim looks at when their rate keys hold the first ones back. */
export const MAX_LOOKAHEAD = 1000;

/**
 * What a job running (or just given) weighs beside a key's usage, in slot-milliseconds: enough
 * that keys of about equal usage share a claim's slots instead of one taking them all.
 */
export const RUNNING_WEIGHT_MS = 100;

/** Keys to look at per claim beyond the slots on offer: room for keys already at their limit. */
export function keysToFetch(limit: number, runningKeys: number): number {
  return limit + runningKeys + 8;
}

export function planClaim(st: FlowState): FlowPlan {
  const { settings: s, now } = st;
  let wakeAt: number | undefined;
  const wake = (t: number) => (wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t));
  let limited = false;
  let free = st.limit;
  if (s.concurrency !== null) {
    const room = s.concurrency - st.runningTotal;
    if (room < free) limited = true;
    free = Math.min(free, room);
  }
  const queueHold = st.holds.get('');
  if (queueHold !== undefined && queueHold > now) return { picks: [], lastKey: undefined, limited: true, wakeAt: queueHold, rateStarved: [] };
  if (s.rateLimit !== null) {
    const room = s.rateLimit.max - st.queueWindow.count;
    if (room < free) {
      limited = true;
      if (room <= 0 && st.queueWindow.oldest !== null) wake(st.queueWindow.oldest + s.rateLimit.intervalMs);
    }
    free = Math.min(free, room);
  }
  if (free <= 0) return { picks: [], lastKey: undefined, limited: true, wakeAt, rateStarved: [] };

  const running = new Map(st.runningByKey);
  const keyStarts = new Map<string, number>();
  const picks: FlowCandidate[] = [];
  // What each group has left to offer; a job whose rate key is held stays for a later claim.
  const left = st.groups.map((g) => [...g.jobs]);
  /** Whether a job of this rate key may start now (and if not, note when it may). */
  const rateAllows = (key: string | null): boolean => {
    if (key === null) return true;
    const hold = st.holds.get(key);
    if (hold !== undefined && hold > now) {
      wake(hold);
      return false;
    }
    if (s.perKeyRateLimit === null) return true;
    const w = st.keyWindows.get(key) ?? { count: 0, oldest: null };
    if (w.count + (keyStarts.get(key) ?? 0) < s.perKeyRateLimit.max) return true;
    wake((w.oldest ?? now) + s.perKeyRateLimit.intervalMs);
    return false;
  };
  // Each slot goes first to the keys with nothing running (in round-robin order from the cursor),
  // then to the least used (usage plus what runs; ties in round-robin order).
  const weight = (key: string | null, load: number) => (load === 0 ? -1 : st.usage(key) + load * RUNNING_WEIGHT_MS);
  const closed = st.groups.map(() => false);
  const rateStarved: number[] = [];
  let furthest = -1;
  while (picks.length < free) {
    let best = -1;
    let bestLoad = 0;
    let bestWeight = Infinity;
    for (let g = 0; g < st.groups.length; g++) {
      if (closed[g]) continue;
      const key = st.groups[g]!.key;
      const load = running.get(key) ?? 0;
      if (left[g]!.length === 0) closed[g] = true;
      else if (key !== null && s.perKeyConcurrency !== null && load >= s.perKeyConcurrency) {
        limited = true;
        closed[g] = true;
      } else {
        const w = weight(key, load);
        if (w < bestWeight) {
          best = g;
          bestLoad = load;
          bestWeight = w;
        }
      }
    }
    if (best < 0) break;
    const jobs = left[best]!;
    // The first job in claim order whose rate key lets it start (rate keys may differ within a group).
    const at = jobs.findIndex((j) => rateAllows(j.rateKey));
    if (at < 0) {
      limited = true;
      closed[best] = true;
      rateStarved.push(best);
      continue;
    }
    if (at > 0) limited = true;
    const job = jobs.splice(at, 1)[0]!;
    picks.push(job);
    furthest = Math.max(furthest, best);
    const key = st.groups[best]!.key;
    running.set(key, bestLoad + 1);
    if (job.rateKey !== null) keyStarts.set(job.rateKey, (keyStarts.get(job.rateKey) ?? 0) + 1);
  }
  const lastKey = furthest < 0 ? undefined : st.groups[furthest]!.key;
  return { picks, lastKey, limited, wakeAt: picks.length === 0 || limited ? wakeAt : undefined, rateStarved };
}

/** Keys in round-robin order: those after the cursor, then from the start up to it. */
export function roundRobin<K extends string | null>(keys: readonly K[], after: string | null): K[] {
  if (after === null) return [...keys];
  const i = keys.findIndex((k) => k !== null && k > after);
  return i < 0 ? [...keys] : [...keys.slice(i), ...keys.slice(0, i)];
}
