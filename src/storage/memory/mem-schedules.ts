/** Cron schedules of the memory store. */
import type { Schedule, ScheduleAdvanceParams } from '../../contracts/store.js';

const copy = (s: Schedule): Schedule => ({ ...s, job: structuredClone(s.job) });

export class MemSchedules {
  private readonly byName = new Map<string, Schedule>();

  upsert(s: Schedule): void {
    this.byName.set(s.name, copy(s));
  }

  get(name: string): Schedule | null {
    const s = this.byName.get(name);
    return s ? copy(s) : null;
  }

  list(p: { limit: number; after?: string }): Schedule[] {
    return [...this.byName.keys()]
      .filter((n) => p.after === undefined || n > p.after)
      .sort()
      .slice(0, p.limit)
      .map((n) => copy(this.byName.get(n)!));
  }

  remove(name: string): boolean {
    return this.byName.delete(name);
  }

  due(p: { now: number; limit: number }): Schedule[] {
    return [...this.byName.values()]
      .filter((s) => !s.paused && s.nextRunAt !== null && s.nextRunAt <= p.now)
      .sort((a, b) => a.nextRunAt! - b.nextRunAt!)
      .slice(0, p.limit)
      .map(copy);
  }

  advance(p: ScheduleAdvanceParams): boolean {
    const s = this.byName.get(p.name);
    if (!s || s.nextRunAt !== p.expectedNextRunAt) return false;
    Object.assign(s, { nextRunAt: p.nextRunAt, lastRunAt: p.lastRunAt ?? s.lastRunAt, lastJobId: p.lastJobId ?? s.lastJobId, updatedAt: p.now });
    return true;
  }
}
