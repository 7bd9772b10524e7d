/**
 * Cron schedules as users manage them: upsert (idempotent: an unchanged
 * definition keeps its next and last run), get, list, remove, pause, resume.
 * The first slot is computed here; the scheduler service enqueues the slots.
 */
import { JobqError } from '../../contracts/errors.js';
import { CATCH_UP_MODES, type CatchUp, type Schedule, type ScheduledJob, type Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import { NAME_PATTERN } from '../input-limits.js';
import { checkCron, nextSlot } from './cron.js';

export interface ScheduleInput {
  name: string;
  /** Five fields (minute hour day month weekday), or six with seconds first. */
  cron: string;
  /** @defaultValue 'UTC' */
  tz?: string;
  job: ScheduledJob;
  /** After downtime: 'none' enqueues no slot missed by more than a minute, 'latest' the most recent one, 'all' every one (at most 1,000). @defaultValue 'none' */
  catchUp?: CatchUp;
  /** @defaultValue false */
  paused?: boolean;
}

const same = (a: Schedule, b: Omit<Schedule, 'nextRunAt' | 'lastRunAt' | 'lastJobId' | 'createdAt' | 'updatedAt'>) =>
  a.cron === b.cron && a.tz === b.tz && a.catchUp === b.catchUp && a.paused === b.paused && JSON.stringify(a.job) === JSON.stringify(b.job);

export class ScheduleApi {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Checks the job a schedule will enqueue, as an enqueue would (type, queue, payload limits…). */
    private readonly checkJob: (job: ScheduledJob) => void,
  ) {}

  /** Creates or updates a schedule; returns it as stored, and whether anything changed. */
  async upsert(input: ScheduleInput): Promise<{ schedule: Schedule; changed: boolean }> {
    if (typeof input !== 'object' || input === null) throw new JobqError('invalid_request', 'a schedule must be an object');
    if (typeof input.name !== 'string' || !NAME_PATTERN.test(input.name)) {
      throw new JobqError('invalid_request', `name must match ${NAME_PATTERN.source}`, { details: { field: 'name' } });
    }
    const tz = input.tz ?? 'UTC';
    const cron = checkCron(input.cron, tz);
    const catchUp = input.catchUp ?? 'none';
    if (!CATCH_UP_MODES.includes(catchUp)) throw new JobqError('invalid_request', `catchUp must be one of ${CATCH_UP_MODES.join(', ')}`, { details: { field: 'catchUp' } });
    if (typeof input.job !== 'object' || input.job === null) throw new JobqError('invalid_request', 'job must be an object with at least a type', { details: { field: 'job' } });
    this.checkJob(input.job);
    const paused = input.paused ?? false;
    const def = { name: input.name, cron: input.cron, tz, job: input.job, catchUp, paused };
    const now = this.clock.now();
    const existing = await this.store.scheduleGet(input.name);
    if (existing && same(existing, def)) return { schedule: existing, changed: false };
    const schedule: Schedule = {
      ...def,
      nextRunAt: paused ? null : nextSlot(cron, now),
      lastRunAt: existing?.lastRunAt ?? null,
      lastJobId: existing?.lastJobId ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.scheduleUpsert(schedule);
    return { schedule, changed: true };
  }

  get(name: string): Promise<Schedule | null> {
    return this.store.scheduleGet(name);
  }

  list(params: { limit?: number; after?: string } = {}): Promise<Schedule[]> {
    return this.store.scheduleList({ limit: params.limit ?? 100, ...(params.after !== undefined && { after: params.after }) });
  }

  remove(name: string): Promise<boolean> {
    return this.store.scheduleRemove(name);
  }

  /** Paused schedules enqueue nothing; resuming starts from the next slot after now (missed slots are not caught up). */
  async setPaused(name: string, paused: boolean): Promise<Schedule> {
    const s = await this.store.scheduleGet(name);
    if (!s) throw new JobqError('not_found', `no schedule named ${name}`);
    if (s.paused === paused) return s;
    const now = this.clock.now();
    const next: Schedule = { ...s, paused, nextRunAt: paused ? null : nextSlot(checkCron(s.cron, s.tz), now), updatedAt: now };
    await this.store.scheduleUpsert(next);
    return next;
  }
}
