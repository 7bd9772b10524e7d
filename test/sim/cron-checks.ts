/**
 * Cron schedules (issue #11), checked on the mirror in commit order. The
 * leader's scheduler enqueues each slot with the unique key
 * `schedule:<name>:<ISO slot>`; the rules (C1–C4) are listed in
 * simulator.ts's header.
 *
 * A schedule's "version" is its definition from one upsert (or resume) to
 * the next change: the store computed its first slot then (nextRunAt). Under
 * catchUp 'all' the slots enqueued for a version are exactly its cron's slots
 * from that first one on, none skipped, whatever leader enqueued them; a
 * scheduler tick that read an older version races with the change and may
 * still enqueue that version's slots (before the new first slot): those are
 * left alone.
 */
import type { Cron } from 'croner';
import type { Schedule, ScheduleAdvanceParams } from '../../src/contracts/store.js';
import { checkCron, nextSlot } from '../../src/core/schedules/cron.js';
import { slotKey } from '../../src/core/schedules/scheduler.js';
import type { Bad, MirrorJob } from './mirror.js';

interface Version {
  cron: Cron;
  catchUp: Schedule['catchUp'];
  paused: boolean;
  firstSlot: number | null;
  lastSlot: number | null;
}

interface ScheduleState {
  /** Every cron expression the schedule has had (a slot must belong to one of them). */
  crons: Map<string, Cron>;
  current: Version | null;
}

export interface CronCounters {
  slots: number;
  upserts: number;
  removes: number;
  /** Slot enqueues answered with the slot's existing job (two leaders, or a tick racing a change). */
  slotsDeduplicated: number;
  advances: number;
  advancesRefused: number;
}

const PREFIX = 'schedule:';

export class CronChecks {
  private readonly schedules = new Map<string, ScheduleState>();
  private readonly slotJobs = new Map<string, MirrorJob>();
  readonly counters: CronCounters = { slots: 0, upserts: 0, removes: 0, slotsDeduplicated: 0, advances: 0, advancesRefused: 0 };

  constructor(
    private readonly bad: Bad,
    private readonly violate: (msg: string) => void,
    private readonly t0: number,
  ) {}

  upserted(s: Schedule): void {
    this.counters.upserts++;
    let state = this.schedules.get(s.name);
    if (!state) this.schedules.set(s.name, (state = { crons: new Map(), current: null }));
    let cron = state.crons.get(s.cron);
    if (!cron) state.crons.set(s.cron, (cron = checkCron(s.cron, s.tz)));
    state.current = { cron, catchUp: s.catchUp, paused: s.paused, firstSlot: s.nextRunAt, lastSlot: null };
  }

  removed(name: string): void {
    this.counters.removes++;
    const state = this.schedules.get(name);
    if (state) state.current = null;
  }

  advanced(_p: ScheduleAdvanceParams, moved: boolean): void {
    this.counters.advances++;
    if (!moved) this.counters.advancesRefused++;
  }

  deduplicated(key: string): void {
    if (key.startsWith(PREFIX)) this.counters.slotsDeduplicated++;
  }

  /** A job was inserted with a key (in commit order). */
  slotInserted(m: MirrorJob, key: string, now: number): void {
    if (!key.startsWith(PREFIX)) return;
    this.counters.slots++;
    const at = (t: number) => t - this.t0;
    // C1: no slot is enqueued twice, whatever happened to its first job (its key is held a week).
    const first = this.slotJobs.get(key);
    if (first) this.bad(m.st, `cron slot ${key} enqueued a second time (first as job #${first.st.n}, ${first.status})`);
    this.slotJobs.set(key, m);
    // The simulator's schedule names hold no colon; the ISO time after them does.
    const rest = key.slice(PREFIX.length);
    const name = rest.slice(0, rest.indexOf(':'));
    const slot = Date.parse(rest.slice(name.length + 1));
    const state = this.schedules.get(name);
    if (!state || !Number.isFinite(slot)) {
      this.bad(m.st, `enqueued with cron slot key ${key}, but no schedule ${name} was ever upserted`);
      return;
    }
    // C2: a slot is one of the schedule's cron slots, and never enqueued before its time.
    if (slot > now) this.bad(m.st, `cron slot ${key} enqueued at ${at(now)}, before its time`);
    if (![...state.crons.values()].some((c) => nextSlot(c, slot - 1) === slot && slotKey(name, slot) === key)) this.bad(m.st, `${key} is not a slot of any cron expression schedule ${name} had`);
    // C3: under catchUp 'all', a version's slots are enqueued in order, none skipped.
    const v = state.current;
    if (!v || v.paused || v.firstSlot === null || slot < v.firstSlot) return;
    if (v.catchUp === 'all') {
      const want = v.lastSlot === null ? v.firstSlot : nextSlot(v.cron, v.lastSlot);
      if (want !== null && slot !== want) this.bad(m.st, `schedule ${name} (catchUp all) enqueued slot ${new Date(slot).toISOString()} but slot ${new Date(want).toISOString()} was due first and never enqueued`);
    }
    if (v.lastSlot === null || slot > v.lastSlot) v.lastSlot = slot;
  }

  /**
   * C4, at the end of the drain: a schedule that is not paused has its slots enqueued while a leader
   * runs: with a node leading for the last `ledForMs`, no slot older than the scheduler's interval (and
   * the leader's first tick) is still waiting.
   */
  async liveness(get: (name: string) => Promise<Schedule | null>, now: number, ledForMs: number, intervalMs: number): Promise<void> {
    if (ledForMs < 2 * intervalMs + 500) return;
    for (const [name, state] of this.schedules) {
      if (!state.current || state.current.paused) continue;
      const s = await get(name);
      if (!s) {
        this.violate(`schedule ${name} was upserted and never removed, yet the store has no such schedule`);
        continue;
      }
      if (s.nextRunAt !== null && s.nextRunAt < now - intervalMs - 500) {
        this.violate(`schedule ${name}: a node has led for ${ledForMs} ms, yet its slot of ${new Date(s.nextRunAt).toISOString()} (${s.nextRunAt - this.t0}) is still not enqueued at ${now - this.t0}`);
      }
    }
  }
}
