/** Cron schedules on Postgres. */
import type pg from 'pg';
import type { Schedule, ScheduleAdvanceParams } from '../../contracts/store.js';

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

const COLUMNS = 'name, cron, tz, job::text AS job, catch_up, paused, next_run_at, last_run_at, last_job_id::text AS last_job_id, created_at, updated_at';

interface Row {
  name: string;
  cron: string;
  tz: string;
  job: string;
  catch_up: Schedule['catchUp'];
  paused: boolean;
  next_run_at: number | null;
  last_run_at: number | null;
  last_job_id: string | null;
  created_at: number;
  updated_at: number;
}

const toSchedule = (r: Row): Schedule => ({
  name: r.name,
  cron: r.cron,
  tz: r.tz,
  job: JSON.parse(r.job) as Schedule['job'],
  catchUp: r.catch_up,
  paused: r.paused,
  nextRunAt: r.next_run_at,
  lastRunAt: r.last_run_at,
  lastJobId: r.last_job_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class PgSchedules {
  constructor(
    private readonly query: Query,
    private readonly s: string,
  ) {}

  async upsert(x: Schedule): Promise<void> {
    await this.query(
      `INSERT INTO ${this.s}.schedules (name, cron, tz, job, catch_up, paused, next_run_at, last_run_at, last_job_id, created_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, tz = excluded.tz, job = excluded.job, catch_up = excluded.catch_up, paused = excluded.paused,
         next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, last_job_id = excluded.last_job_id, updated_at = excluded.updated_at`,
      [x.name, x.cron, x.tz, JSON.stringify(x.job), x.catchUp, x.paused, x.nextRunAt, x.lastRunAt, x.lastJobId, x.createdAt, x.updatedAt],
    );
  }

  async get(name: string): Promise<Schedule | null> {
    const { rows } = await this.query<Row>(`SELECT ${COLUMNS} FROM ${this.s}.schedules WHERE name = $1`, [name]);
    return rows[0] ? toSchedule(rows[0]) : null;
  }

  async list(p: { limit: number; after?: string }): Promise<Schedule[]> {
    const { rows } = await this.query<Row>(`SELECT ${COLUMNS} FROM ${this.s}.schedules WHERE name > $1 ORDER BY name LIMIT $2`, [p.after ?? '', p.limit]);
    return rows.map(toSchedule);
  }

  async remove(name: string): Promise<boolean> {
    return ((await this.query(`DELETE FROM ${this.s}.schedules WHERE name = $1`, [name])).rowCount ?? 0) === 1;
  }

  async due(p: { now: number; limit: number }): Promise<Schedule[]> {
    const { rows } = await this.query<Row>(`SELECT ${COLUMNS} FROM ${this.s}.schedules WHERE NOT paused AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2`, [p.now, p.limit]);
    return rows.map(toSchedule);
  }

  async advance(p: ScheduleAdvanceParams): Promise<boolean> {
    const r = await this.query(
      `UPDATE ${this.s}.schedules SET next_run_at = $3, last_run_at = COALESCE($4, last_run_at), last_job_id = COALESCE($5::uuid, last_job_id), updated_at = $6
        WHERE name = $1 AND next_run_at = $2`,
      [p.name, p.expectedNextRunAt, p.nextRunAt, p.lastRunAt, p.lastJobId, p.now],
    );
    return r.rowCount === 1;
  }
}
