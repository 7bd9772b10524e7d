/**
 * Turns due schedule slots into jobs, on the leader, about once a second.
 * Exactly one job per slot however many nodes run and even if two of them
 * lead at once for a moment: each slot's job carries the unique key
 * `schedule:<name>:<slot>` (held a week), so a second enqueue of the slot
 * returns the first job. The schedule then moves past the slot with a
 * compare-and-set on its next run.
 *
 * Missed slots (downtime, a paused leader) follow the schedule's catchUp:
 * 'none' enqueues only a slot missed by less than a minute (an on-time run,
 * or a leader failover), 'latest' the most recent missed slot, 'all' every
 * missed slot up to 1,000 (the oldest beyond are skipped, and logged).
 */
import type { Logger } from 'pino';
import type { Schedule, Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import type { EnqueueInput } from '../enqueue-input.js';
import { PeriodicService } from '../services/service.js';
import { checkCron, nextSlot, slotsBetween } from './cron.js';

export const SLOT_KEY_HOLD_MS = 7 * 24 * 3600 * 1000;
export const ON_TIME_GRACE_MS = 60_000;
export const MAX_CATCH_UP = 1000;

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  isLeader(): boolean;
  enqueue(inputs: EnqueueInput[]): Promise<{ id: string }[]>;
}

export function slotKey(name: string, slot: number): string {
  return `schedule:${name}:${new Date(slot).toISOString()}`;
}

/** The slots of a due schedule to enqueue now, by its catchUp. */
export function slotsToRun(s: Schedule, now: number): { run: number[]; skipped: number } {
  const cron = checkCron(s.cron, s.tz);
  const { slots, skipped } = slotsBetween(cron, s.nextRunAt!, now, MAX_CATCH_UP);
  if (s.catchUp === 'all') return { run: slots, skipped };
  const latest = slots.at(-1);
  if (latest === undefined) return { run: [], skipped };
  if (s.catchUp === 'latest') return { run: [latest], skipped: skipped + slots.length - 1 };
  return now - latest < ON_TIME_GRACE_MS ? { run: [latest], skipped: skipped + slots.length - 1 } : { run: [], skipped: skipped + slots.length };
}

export function scheduler(o: SchedulerOptions): PeriodicService {
  const tick = async () => {
    const now = o.clock.now();
    for (const s of await o.store.scheduleDue({ now, limit: 100 })) {
      const { run, skipped } = slotsToRun(s, now);
      if (skipped > 0) o.logger.warn({ schedule: s.name, skipped, catchUp: s.catchUp }, 'schedule slots missed while no leader ran them were skipped');
      const jobs = run.length === 0 ? [] : await o.enqueue(run.map((slot) => ({ ...s.job, key: slotKey(s.name, slot), uniqueForMs: SLOT_KEY_HOLD_MS })));
      const next = nextSlot(checkCron(s.cron, s.tz), now);
      const moved = await o.store.scheduleAdvance({
        name: s.name,
        expectedNextRunAt: s.nextRunAt!,
        // A cron with no future slot (a fixed date passed) stays due never again: park it far away.
        nextRunAt: next ?? Number.MAX_SAFE_INTEGER,
        lastRunAt: run.at(-1) ?? null,
        lastJobId: jobs.at(-1)?.id ?? null,
        now,
      });
      if (moved && run.length > 0) o.logger.info({ schedule: s.name, slots: run.length, jobId: jobs.at(-1)?.id }, 'schedule enqueued its slot');
    }
  };
  return new PeriodicService({ name: 'scheduler', clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, when: o.isLeader, tick });
}
