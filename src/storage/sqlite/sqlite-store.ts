/**
 * The default backend: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous, so every method runs its transaction to completion before it
 * returns; the core's group commit is what keeps transactions few and large.
 */
import Database from 'better-sqlite3';
import { JobqError } from '../../core/errors.js';
import { assertOperation, OPERATIONS, type Job, type JobStatus, type LeasedJob } from '../../core/job.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { rowToJob, rowToLeasedJob, type JobRow } from '../job-row.js';
import {
  queueInfos,
  type JobCancelParams,
  type JobClaimParams,
  type JobExtendLeasesParams,
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
import { migrate } from './migrations.js';
import { WalSyncer } from './wal-syncer.js';
import * as SQL from './sql.js';

export interface SqliteStoreOptions {
  /** Database file path; created if missing. */
  path: string;
  /**
   * `full`: every change a client is told about (enqueue, cancel, retry,
   * pause) is fsynced before the call returns and survives power loss. A
   * worker's own transitions (claim, heartbeat, finish, release, rescue) are
   * not fsynced on their own; they become durable with the next fsync. A
   * crash of the process loses none of them; a power loss can at worst make
   * a job run again (at-least-once holds).
   * `normal`: nothing is fsynced; survives a crash of the process, not of the machine.
   * @defaultValue 'full'
   */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another process's lock before failing. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** How often to look for commits by other processes (cheap: `PRAGMA data_version`). @defaultValue 2 */
  watchIntervalMs?: number;
}

type Stmt = Database.Statement;

export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { durable: true, shared: true };
  private readonly db: Database.Database;
  private readonly stmt: Record<string, Stmt>;
  private readonly list: Record<keyof typeof SQL.LIST, Stmt>;
  private readonly watchIntervalMs: number;
  /** Null when synchronous is 'normal'. */
  private readonly walSyncer: WalSyncer | null;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.watchIntervalMs = options.watchIntervalMs ?? 2;
    try {
      this.db = new Database(options.path);
      this.db.pragma('journal_mode = WAL');
      // Commits never fsync on the main thread; durable ones are fsynced by WalSyncer.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      migrate(this.db);
    } catch (err) {
      throw new JobqError('store_unavailable', `cannot open SQLite database at ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    this.walSyncer = options.synchronous === 'normal' ? null : new WalSyncer(`${options.path}-wal`);
    const prepare = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      insert: prepare(SQL.INSERT_JOB),
      promote: prepare(SQL.PROMOTE_DUE),
      paused: prepare(SQL.QUEUE_PAUSED),
      claim: prepare(SQL.CLAIM),
      extend: prepare(SQL.EXTEND_LEASE),
      complete: prepare(SQL.COMPLETE),
      retry: prepare(SQL.RETRY),
      fail: prepare(SQL.FAIL),
      release: prepare(SQL.RELEASE),
      progress: prepare(SQL.SET_PROGRESS),
      expired: prepare(SQL.EXPIRED_LEASES),
      get: prepare(SQL.GET_BY_ID),
      cancel: prepare(SQL.CANCEL),
      manualRetry: prepare(SQL.MANUAL_RETRY),
      prune: prepare(SQL.PRUNE),
      nextRunAt: prepare(SQL.NEXT_RUN_AT),
      pause: prepare(SQL.PAUSE),
      resume: prepare(SQL.RESUME),
      counts: prepare(SQL.COUNTS),
      queues: prepare(SQL.QUEUES),
    };
    this.list = {
      all: prepare(SQL.LIST.all),
      queue: prepare(SQL.LIST.queue),
      status: prepare(SQL.LIST.status),
      queueStatus: prepare(SQL.LIST.queueStatus),
    };
  }

  /** Runs `fn` in a write transaction, taking the lock up front; maps lock time-outs to 503. */
  private write<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  /**
   * A change a client is told about: committed, then fsynced off the main
   * thread before it resolves. Measured here: HTTP enqueue with 50 connections
   * went from 30k to NN req/s against fsync inside COMMIT.
   */
  private async durableWrite<T>(fn: () => T): Promise<T> {
    const result = this.write(fn);
    if (this.walSyncer) {
      try {
        await this.walSyncer.sync();
      } catch (err) {
        throw new JobqError('store_unavailable', `fsync of the SQLite WAL failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return result;
  }

  private read<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new JobqError('store_unavailable', 'the store is closed');
  }

  async jobInsertMany({ jobs }: JobInsertManyParams): Promise<void> {
    if (jobs.length === 0) return;
    const insert = this.stmt.insert!;
    await this.durableWrite(() => {
      for (const j of jobs) {
        insert.run({
          id: j.id,
          queue: j.queue,
          type: j.type,
          payload: j.payloadJson,
          status: j.status,
          priority: j.priority,
          maxAttempts: j.maxAttempts,
          timeoutMs: j.timeoutMs,
          runAt: j.runAt,
          createdAt: j.createdAt,
        });
      }
    });
  }

  async jobClaim(p: JobClaimParams): Promise<LeasedJob[]> {
    if (p.limit <= 0) return [];
    const rows = this.write(() => {
      const paused = this.stmt.paused!.get({ queue: p.queue }) as { paused: number } | undefined;
      if (paused?.paused) return [];
      this.stmt.promote!.run({ queue: p.queue, now: p.now });
      return this.stmt.claim!.all({
        queue: p.queue,
        limit: p.limit,
        now: p.now,
        leaseToken: p.leaseToken,
        leaseExpiresAt: p.now + p.leaseMs,
      }) as JobRow[];
    });
    // RETURNING gives no order guarantee; hand jobs out in claim order.
    rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq);
    return rows.map(rowToLeasedJob);
  }

  async jobExtendLeases(p: JobExtendLeasesParams): Promise<string[]> {
    const extend = this.stmt.extend!;
    return this.write(() =>
      p.leases
        .filter((l) => extend.run({ id: l.id, leaseToken: l.leaseToken, leaseExpiresAt: p.now + p.leaseMs, now: p.now }).changes === 1)
        .map((l) => l.id),
    );
  }

  async jobFinishMany(p: JobFinishManyParams): Promise<string[]> {
    const done: string[] = [];
    this.write(() => {
      for (const f of p.finishes) {
        const base = { id: f.id, leaseToken: f.leaseToken, now: p.now };
        const o = f.outcome;
        let changes: number;
        if (o.kind === 'completed') {
          changes = this.stmt.complete!.run({ ...base, result: o.resultJson }).changes;
        } else if (o.kind === 'retry') {
          const status = o.runAt <= p.now ? 'pending' : 'scheduled';
          changes = this.stmt.retry!.run({ ...base, status, runAt: o.runAt, error: JSON.stringify(o.error) }).changes;
        } else {
          changes = this.stmt.fail!.run({ ...base, error: JSON.stringify(o.error) }).changes;
        }
        if (changes === 1) done.push(f.id);
      }
    });
    return done;
  }

  async jobReleaseMany(p: JobReleaseManyParams): Promise<string[]> {
    const release = this.stmt.release!;
    return this.write(() =>
      p.leases.filter((l) => release.run({ id: l.id, leaseToken: l.leaseToken, now: p.now }).changes === 1).map((l) => l.id),
    );
  }

  async jobSetProgress(p: JobSetProgressParams): Promise<boolean> {
    return this.write(() => this.stmt.progress!.run(p).changes === 1);
  }

  async jobRescueExpired(p: JobRescueExpiredParams): Promise<RescuedJob[]> {
    return this.write(() => {
      const expired = this.stmt.expired!.all({ now: p.now, limit: p.limit }) as {
        id: string;
        lease_token: string;
        attempts: number;
        max_attempts: number;
      }[];
      const rescued: RescuedJob[] = [];
      for (const e of expired) {
        const error = JSON.stringify({ attempt: e.attempts, message: 'lease expired: the worker stopped heartbeating', at: p.now });
        const base = { id: e.id, leaseToken: e.lease_token, now: p.now, error };
        if (e.attempts >= e.max_attempts) {
          this.stmt.fail!.run(base);
          rescued.push({ id: e.id, status: 'failed' });
        } else {
          const runAt = p.now + p.retryDelayMs(e.attempts);
          const status = runAt <= p.now ? 'pending' : 'scheduled';
          this.stmt.retry!.run({ ...base, status, runAt });
          rescued.push({ id: e.id, status });
        }
      }
      return rescued;
    });
  }

  async jobGet(id: string): Promise<Job | null> {
    const row = this.read(() => this.stmt.get!.get({ id }) as JobRow | undefined);
    return row ? rowToJob(row) : null;
  }

  async jobList(p: JobListParams): Promise<JobListPage> {
    const after = decodeCursor(p.cursor);
    const stmt =
      p.queue !== undefined && p.status !== undefined
        ? this.list.queueStatus
        : p.queue !== undefined
          ? this.list.queue
          : p.status !== undefined
            ? this.list.status
            : this.list.all;
    const params: Record<string, unknown> = { after, limit: p.limit + 1 };
    if (p.queue !== undefined) params.queue = p.queue;
    if (p.status !== undefined) params.status = p.status;
    const rows = this.read(() => stmt.all(params) as JobRow[]);
    const page = rows.slice(0, p.limit);
    const last = page[page.length - 1];
    return { jobs: page.map(rowToJob), nextCursor: rows.length > p.limit && last ? encodeCursor(last.seq) : null };
  }

  async jobCancel(p: JobCancelParams): Promise<Job> {
    return this.changeStatusOrExplain(p.id, 'cancel', () => this.stmt.cancel!.get(p) as JobRow | undefined);
  }

  async jobRetry(p: JobRetryParams): Promise<Job> {
    return this.changeStatusOrExplain(p.id, 'retry', () => this.stmt.manualRetry!.get(p) as JobRow | undefined);
  }

  /** Runs a guarded UPDATE … RETURNING; when it matched nothing, says why (unknown id or illegal move). */
  private async changeStatusOrExplain(id: string, op: keyof typeof OPERATIONS, update: () => JobRow | undefined): Promise<Job> {
    const row = await this.durableWrite(() => {
      const changed = update();
      if (changed) return changed;
      const current = this.stmt.get!.get({ id }) as JobRow | undefined;
      if (!current) throw new JobqError('not_found', `no job with id ${id}`);
      assertOperation(id, op, current.status as JobStatus);
      throw new JobqError('internal', `job ${id} changed while being updated`);
    });
    return rowToJob(row);
  }

  async jobPrune(p: JobPruneParams): Promise<number> {
    return this.write(() => this.stmt.prune!.run(p).changes);
  }

  async jobNextRunAt(queue: string): Promise<number | null> {
    return this.read(() => (this.stmt.nextRunAt!.get({ queue }) as { next: number | null }).next);
  }

  async queuePause(queue: string): Promise<void> {
    await this.durableWrite(() => this.stmt.pause!.run({ queue }));
  }

  async queueResume(queue: string): Promise<void> {
    await this.durableWrite(() => this.stmt.resume!.run({ queue }));
  }

  async queueList(): Promise<QueueInfo[]> {
    return this.read(() =>
      queueInfos(
        this.stmt.queues!.all() as { name: string; paused: number }[],
        this.stmt.counts!.all() as { queue: string; status: JobStatus; n: number }[],
      ),
    );
  }


  watchChanges(onChange: () => void): () => void {
    // data_version changes when another connection commits; reading it costs no I/O.
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    let last = dataVersion.get();
    const timer = setInterval(() => {
      if (this.closed) return;
      const v = dataVersion.get();
      if (v !== last) {
        last = v;
        onChange();
      }
    }, this.watchIntervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.walSyncer?.close();
    this.db.close();
  }
}

function mapSqliteError(err: unknown): unknown {
  if (err instanceof JobqError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL') {
    return new JobqError('store_unavailable', `the database is unavailable (${code})`, { cause: err });
  }
  return err;
}
