/** Cron schedules on SQLite. */
import type { Schedule, ScheduleAdvanceParams } from '../../contracts/store.js';
import { boundLimit } from './bound-limit.js';
import type { SqliteConn } from './conn.js';

const COLUMNS = 'name, cron, tz, job, catch_up, paused, next_run_at, last_run_at, last_job_id, created_at, updated_at';

interface Row {
  name: string;
  cron: string;
  tz: string;
  job: string;
  catch_up: Schedule['catchUp'];
  paused: number;
  next_run_at: number | null;
  last_run_at: number | null;
  last_job_id: string | null;
  created_at: number;
  updated_at: number;
}

function toSchedule(r: Row): Schedule {
  return {
    name: r.name,
    cron: r.cron,
    tz: r.tz,
    job: JSON.parse(r.job) as Schedule['job'],
    catchUp: r.catch_up,
    paused: r.paused === 1,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at,
    lastJobId: r.last_job_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function scheduleUpsert(c: SqliteConn, s: Schedule): Promise<void> {
  await c.durable(() =>
    c
      .stmt(
        `INSERT INTO schedules (${COLUMNS}) VALUES (@name, @cron, @tz, @job, @catchUp, @paused, @nextRunAt, @lastRunAt, @lastJobId, @createdAt, @updatedAt)
         ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, tz = excluded.tz, job = excluded.job, catch_up = excluded.catch_up, paused = excluded.paused,
           next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, last_job_id = excluded.last_job_id, updated_at = excluded.updated_at`,
      )
      .run({ ...s, job: JSON.stringify(s.job), paused: s.paused ? 1 : 0 }),
  );
}

export function scheduleGet(c: SqliteConn, name: string): Schedule | null {
  const r = c.read(() => c.stmt(`SELECT ${COLUMNS} FROM schedules WHERE name = @name`).get({ name }) as Row | undefined);
  return r ? toSchedule(r) : null;
}

export function scheduleList(c: SqliteConn, p: { limit: number; after?: string }): Schedule[] {
  return c.read(() => (c.stmt(`SELECT ${COLUMNS} FROM schedules WHERE name > @after ORDER BY name LIMIT ${boundLimit('@limit')}`).all({ after: p.after ?? '', limit: p.limit }) as Row[]).map(toSchedule));
}

export async function scheduleRemove(c: SqliteConn, name: string): Promise<boolean> {
  return c.durable(() => c.stmt(`DELETE FROM schedules WHERE name = @name`).run({ name }).changes === 1);
}

export function scheduleDue(c: SqliteConn, p: { now: number; limit: number }): Schedule[] {
  return c.read(() =>
    (c.stmt(`SELECT ${COLUMNS} FROM schedules WHERE paused = 0 AND next_run_at <= @now ORDER BY next_run_at LIMIT ${boundLimit('@limit')}`).all(p) as Row[]).map(toSchedule),
  );
}

export function scheduleAdvance(c: SqliteConn, p: ScheduleAdvanceParams): boolean {
  return c.write(
    () =>
      c
        .stmt(
          `UPDATE schedules SET next_run_at = @nextRunAt, last_run_at = COALESCE(@lastRunAt, last_run_at), last_job_id = COALESCE(@lastJobId, last_job_id), updated_at = @now
            WHERE name = @name AND next_run_at = @expectedNextRunAt`,
        )
        .run(p).changes === 1,
  );
}
