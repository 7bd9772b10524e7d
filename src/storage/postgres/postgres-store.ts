/**
 * The Postgres backend: many jobq nodes on one database. Claims use
 * FOR UPDATE SKIP LOCKED against a partial index in claim order; batches are
 * one statement each (unnest); one NOTIFY per committed insert batch wakes
 * every node's LISTEN connection, with polling as the fallback (PgBouncer).
 */
import pg from 'pg';
import { JobqError } from '../../core/errors.js';
import { assertOperation, OPERATIONS, type Job, type JobStatus, type LeasedJob } from '../../core/job.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { rowToJob, rowToLeasedJob, type JobRow } from '../job-row.js';
import {
  queueInfos,
  type JobCancelParams,
  type JobClaimParams,
  type JobExtendLeasesParams,
  type JobFinish,
  type JobFinishManyParams,
  type JobInsertManyParams,
  type JobListPage,
  type JobListParams,
  type JobPruneParams,
  type JobReleaseManyParams,
  type JobRescueExpiredParams,
  type JobRetryParams,
  type JobSetProgressParams,
  type QueueInfo,
  type RescuedJob,
  type Store,
  type StoreCapabilities,
} from '../store.js';
import { Listener } from './listener.js';
import { migrate, quoteIdent } from './migrations.js';
import { statements, type Statements } from './sql.js';
import { inTransaction } from './transaction.js';
import { isTransient, withTransientRetry } from './transient.js';

export interface PostgresStoreOptions {
  /** postgres://user:pass@host:port/db */
  connectionString: string;
  /** Schema holding jobq's tables. @defaultValue 'jobq' */
  schema?: string;
  /** Pool size. @defaultValue 10 */
  poolSize?: number;
  /** LISTEN for wake-ups; turn off behind PgBouncer in transaction mode (polling then). @defaultValue true */
  listen?: boolean;
  /** Apply migrations on open. @defaultValue true */
  migrate?: boolean;
  /** Told about transient errors being retried and listener reconnects. */
  onWarning?: (message: string, err: unknown) => void;
}

/** bigint as number (epoch ms and seq fit easily), JSON left as text: rowToJob parses it once. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    if (oid === 114 || oid === 3802) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { durable: true, shared: true };
  readonly schema: string;
  private readonly pool: pg.Pool;
  /**
   * Connections with synchronous_commit off, for a worker's own transitions
   * (claim, heartbeat, finish, release, rescue): they skip the wait for the WAL
   * flush; a crash of the server can at worst make a job run again. Enqueues,
   * cancels and retries a client is told about use the durable pool.
   */
  private readonly workerPool: pg.Pool;
  private readonly sql: Statements;
  private readonly channel: string;
  private readonly listen: boolean;
  private readonly onWarning: (message: string, err: unknown) => void;
  private listener: Listener | null = null;
  private closed = false;

  private constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'jobq';
    const s = quoteIdent(this.schema);
    this.channel = `jobq_${this.schema}`;
    this.sql = statements(s, this.channel);
    this.listen = options.listen ?? true;
    this.onWarning = options.onWarning ?? (() => {});
    const max = options.poolSize ?? 10;
    // Names this process's connections in pg_stat_activity (and lets operators target them).
    const application_name = `jobq/${process.pid}`;
    // Nothing may wait forever on a half-dead connection: a stuck claim or finish would stall
    // the whole node. Timeouts surface as transient errors and are retried.
    const limits = { connectionTimeoutMillis: 10_000, query_timeout: 30_000, keepAlive: true };
    this.pool = new pg.Pool({ connectionString: options.connectionString, max, types: TYPES, application_name, ...limits });
    // enable_bitmapscan=off: with stale statistics (a bulk load not yet analyzed) the planner
    // chose a bitmap scan of every pending row plus a sort for each claim (7.3 ms for 18k
    // pending rows, measured); the ordered scan of jobs_claim stops after LIMIT rows.
    this.workerPool = new pg.Pool({
      connectionString: options.connectionString,
      max,
      types: TYPES,
      application_name,
      ...limits,
      options: '-c synchronous_commit=off -c enable_bitmapscan=off',
    });
    // An idle client losing its connection (server restart) must not crash the process.
    for (const p of [this.pool, this.workerPool]) p.on('error', (err) => this.onWarning('idle Postgres connection lost', err));
  }

  /** Connects (retrying while the server is not up yet) and migrates. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      if (options.migrate ?? true) await withTransientRetry(() => migrate(store.pool, store.schema));
    } catch (err) {
      await Promise.all([store.pool.end(), store.workerPool.end()]).catch(() => {});
      throw new JobqError('store_unavailable', `cannot open Postgres store: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[], pool = this.pool): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new JobqError('store_unavailable', 'the store is closed');
    try {
      return await withTransientRetry(
        () => pool.query<R>(text, values),
        undefined,
        (err, attempt) => this.onWarning(`transient Postgres error, retry ${attempt}`, err),
      );
    } catch (err) {
      throw mapPgError(err);
    }
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, pool = this.pool): Promise<T> {
    if (this.closed) throw new JobqError('store_unavailable', 'the store is closed');
    try {
      return await withTransientRetry(() => inTransaction(pool, fn, (err) => this.onWarning('Postgres connection lost during a transaction', err)));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  private insertValues(p: JobInsertManyParams): unknown[] {
    const j = p.jobs;
    return [
      j.map((r) => r.id),
      j.map((r) => r.queue),
      j.map((r) => r.type),
      j.map((r) => r.payloadJson),
      j.map((r) => r.status),
      j.map((r) => r.priority),
      j.map((r) => r.maxAttempts),
      j.map((r) => r.timeoutMs),
      j.map((r) => r.runAt),
      j[0]?.createdAt ?? 0,
    ];
  }

  async jobInsertMany(p: JobInsertManyParams): Promise<void> {
    if (p.jobs.length === 0) return;
    let retried = false;
    try {
      await withTransientRetry(
        () => this.pool.query(this.sql.insert, this.insertValues(p)),
        undefined,
        () => (retried = true),
      );
    } catch (err) {
      // The ids are ours: a unique violation after a retry means the first try did commit.
      if (retried && (err as { code?: string }).code === '23505') return;
      throw mapPgError(err);
    }
  }

  /** Inserts inside the caller's own transaction: the jobs exist if and only if it commits. */
  async jobInsertManyWith(client: unknown, p: JobInsertManyParams): Promise<void> {
    if (p.jobs.length === 0) return;
    try {
      await (client as pg.ClientBase).query(this.sql.insert, this.insertValues(p));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async jobClaim(p: JobClaimParams): Promise<LeasedJob[]> {
    if (p.limit <= 0) return [];
    const { rows } = await this.query<JobRow>(this.sql.claim, [p.queue, p.limit, p.now, p.leaseToken, p.now + p.leaseMs], this.workerPool);
    rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq);
    return rows.map(rowToLeasedJob);
  }

  async jobExtendLeases(p: JobExtendLeasesParams): Promise<string[]> {
    if (p.leases.length === 0) return [];
    const { rows } = await this.query<{ id: string }>(this.sql.extend, [p.leases.map((l) => l.id), p.leases.map((l) => l.leaseToken), p.now + p.leaseMs, p.now], this.workerPool);
    return rows.map((r) => r.id);
  }

  private finishValues(finishes: readonly JobFinish[], now: number): unknown[] {
    const status = (f: JobFinish) => (f.outcome.kind === 'retry' ? (f.outcome.runAt <= now ? 'pending' : 'scheduled') : f.outcome.kind);
    return [
      finishes.map((f) => f.id),
      finishes.map((f) => f.leaseToken),
      finishes.map(status),
      finishes.map((f) => (f.outcome.kind === 'completed' ? f.outcome.resultJson : null)),
      finishes.map((f) => (f.outcome.kind === 'retry' ? f.outcome.runAt : null)),
      finishes.map((f) => (f.outcome.kind === 'completed' ? null : JSON.stringify(f.outcome.error))),
      now,
    ];
  }

  async jobFinishMany(p: JobFinishManyParams): Promise<string[]> {
    if (p.finishes.length === 0) return [];
    const { rows } = await this.query<{ id: string }>(this.sql.finish, this.finishValues(p.finishes, p.now), this.workerPool);
    return rows.map((r) => r.id);
  }

  async jobReleaseMany(p: JobReleaseManyParams): Promise<string[]> {
    if (p.leases.length === 0) return [];
    const { rows } = await this.query<{ id: string }>(this.sql.release, [p.leases.map((l) => l.id), p.leases.map((l) => l.leaseToken), p.now], this.workerPool);
    return rows.map((r) => r.id);
  }

  async jobSetProgress(p: JobSetProgressParams): Promise<boolean> {
    const r = await this.query(this.sql.progress, [p.id, p.leaseToken, p.progress, p.now], this.workerPool);
    return r.rowCount === 1;
  }

  async jobRescueExpired(p: JobRescueExpiredParams): Promise<RescuedJob[]> {
    // Claims take due scheduled jobs directly; this keeps the status of the ones still waiting truthful.
    await this.query(this.sql.promote, [p.now], this.workerPool);
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ id: string; lease_token: string; attempts: number; max_attempts: number }>(this.sql.expired, [p.now, p.limit]);
      if (rows.length === 0) return [];
      const finishes: JobFinish[] = rows.map((e) => {
        const error = { attempt: e.attempts, message: 'lease expired: the worker stopped heartbeating', at: p.now };
        return {
          id: e.id,
          leaseToken: e.lease_token,
          outcome: e.attempts >= e.max_attempts ? { kind: 'failed', error } : { kind: 'retry', runAt: p.now + p.retryDelayMs(e.attempts), error },
        };
      });
      await c.query(this.sql.finish, this.finishValues(finishes, p.now));
      return finishes.map((f) => ({
        id: f.id,
        status: f.outcome.kind === 'failed' ? 'failed' : f.outcome.kind === 'retry' && f.outcome.runAt <= p.now ? 'pending' : 'scheduled',
      }));
    }, this.workerPool);
  }

  async jobGet(id: string): Promise<Job | null> {
    const { rows } = await this.query<JobRow>(this.sql.get, [id]);
    return rows[0] ? rowToJob(rows[0]) : null;
  }

  async jobList(p: JobListParams): Promise<JobListPage> {
    const after = decodeCursor(p.cursor);
    const l = this.sql.list;
    const [text, extra] =
      p.queue !== undefined && p.status !== undefined
        ? [l.queueStatus, [p.queue, p.status]]
        : p.queue !== undefined
          ? [l.queue, [p.queue]]
          : p.status !== undefined
            ? [l.status, [p.status]]
            : [l.all, []];
    const { rows } = await this.query<JobRow>(text, [after, p.limit + 1, ...extra]);
    const page = rows.slice(0, p.limit);
    const last = page[page.length - 1];
    return { jobs: page.map(rowToJob), nextCursor: rows.length > p.limit && last ? encodeCursor(last.seq) : null };
  }

  async jobCancel(p: JobCancelParams): Promise<Job> {
    return this.changeOrExplain(p.id, 'cancel', this.sql.cancel, p.now);
  }

  async jobRetry(p: JobRetryParams): Promise<Job> {
    return this.changeOrExplain(p.id, 'retry', this.sql.retry, p.now);
  }

  private async changeOrExplain(id: string, op: keyof typeof OPERATIONS, text: string, now: number): Promise<Job> {
    const { rows } = await this.query<JobRow>(text, [id, now]);
    if (rows[0]) return rowToJob(rows[0]);
    const current = await this.jobGet(id);
    if (!current) throw new JobqError('not_found', `no job with id ${id}`);
    assertOperation(id, op, current.status);
    throw new JobqError('illegal_transition', `job ${id} changed while being updated; try again`);
  }

  async jobPrune(p: JobPruneParams): Promise<number> {
    const r = await this.query(this.sql.prune, [p.finishedBefore, p.limit]);
    return r.rowCount ?? 0;
  }

  async jobNextRunAt(queue: string): Promise<number | null> {
    const { rows } = await this.query<{ next: number | null }>(this.sql.nextRunAt, [queue]);
    return rows[0]?.next ?? null;
  }

  async queuePause(queue: string): Promise<void> {
    await this.query(this.sql.pause, [queue]);
  }

  async queueResume(queue: string): Promise<void> {
    await this.query(this.sql.resume, [queue]);
  }

  async queueList(): Promise<QueueInfo[]> {
    const [queues, counts] = await Promise.all([
      this.query<{ name: string; paused: boolean }>(this.sql.queues, []),
      this.query<{ queue: string; status: JobStatus; n: number }>(this.sql.counts, []),
    ]);
    return queueInfos(queues.rows, counts.rows);
  }


  watchChanges(onChange: () => void): () => void {
    if (!this.listen) return () => {};
    const listener = new Listener(
      { connectionString: this.options.connectionString, application_name: `jobq/${process.pid}/listen`, connectionTimeoutMillis: 10_000, keepAlive: true },
      this.channel,
      () => onChange(),
      (err) => this.onWarning('LISTEN connection lost; reconnecting', err),
    );
    this.listener = listener;
    listener.start();
    return () => void listener.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener?.stop();
    await Promise.all([this.pool.end(), this.workerPool.end()]);
  }
}

function mapPgError(err: unknown): unknown {
  if (err instanceof JobqError) return err;
  if (isTransient(err)) return new JobqError('store_unavailable', 'the database is unavailable; retry later', { cause: err });
  return err;
}
