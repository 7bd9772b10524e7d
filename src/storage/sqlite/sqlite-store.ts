/**
 * The default backend: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous, so every method runs its transaction to completion before it
 * returns; the core's group commit is what keeps transactions few and large.
 * Claims, listings, queues and the change feed live in their own modules.
 */
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { JobqError } from '../../contracts/errors.js';
import type { JobEvent } from '../../contracts/events.js';
import type { Job, JobStatus, LeasedJob } from '../../contracts/job.js';
import type {
  ApiToken,
  ExpiredLease,
  JobChangeParams,
  JobChangeResult,
  JobClaimParams,
  JobExpiredLeasesParams,
  JobExtendLeasesParams,
  JobFinish,
  JobFinishManyParams,
  InsertResult,
  JobInsertManyParams,
  JobListPage,
  JobListParams,
  JobPruneParams,
  JobRef,
  JobReleaseClaimParams,
  JobReleaseManyParams,
  JobSetProgressParams,
  LeaderLock,
  LeaderParams,
  NodeInfo,
  QueueInfo,
  QueueListParams,
  QueueRegisterParams,
  QueueSettings,
  Schedule,
  ScheduleAdvanceParams,
  Store,
  StoreCapabilities,
} from '../../contracts/store.js';
import { hasLeased, leasedRef, NOTHING_SPECIAL, traceContextText } from '../../contracts/store.js';
import { storeUnavailable } from '../errors.js';
import { KeyUsage } from '../flow-usage.js';
import { rowToJob, type JobRow } from '../job-row.js';
import { ChangeFeed } from './change-feed.js';
import { FileLeaderLock } from './leader-lock.js';
import { checkSqlitePath, SQLITE_DEFAULTS } from './defaults.js';
import { claim, nextScheduledRunAt } from './claim.js';
import * as cluster from './cluster.js';
import { SqliteConn } from './conn.js';
import { mapSqliteError } from './errors.js';
import * as SQL from './job-sql.js';
import { concurrencyKeys, hold } from './flow.js';
import { cascade, insertLinked, retakeKey } from './links.js';
import { listJobs } from './lists.js';
import * as schedules from './schedules.js';
import * as tokens from './tokens.js';
import { migrate } from './migrate.js';
import { WalSyncer } from './wal-syncer.js';

export interface SqliteStoreOptions {
  /** Database file path; created (mode 0600) if missing. `:memory:` and '' are refused: they are not durable. */
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
  /**
   * How often to look for commits by other processes (`PRAGMA data_version`)
   * when no datagram announced one: a safety net, since a process that makes
   * jobs claimable wakes the others at once (wake-socket.ts). A process
   * following other processes' events looks every 2 ms while it does.
   * @defaultValue 50
   */
  watchIntervalMs?: number;
  /**
   * SQLite's own page cache, in KiB. better-sqlite3 builds SQLite with
   * 16,000, which a process fills as its database grows: a worker draining a
   * 100,000-job queue peaked at 78-83 MB of RSS with it and at 64-66 MB with
   * 2,000, as fast or faster (the operating system caches the file anyway).
   * @defaultValue 2000 (SQLite's own default)
   */
  cacheKiB?: number;
}

/** The page cache size asked for, checked: a whole number of KiB, at least 64 (SQLite's floor is 10 pages). */
function cacheKiB(kib: number = SQLITE_DEFAULTS.cacheKiB): number {
  if (!Number.isInteger(kib) || kib < 64) throw new JobqError('invalid_option', `SQLite cacheKiB must be a whole number of KiB, at least 64 (got ${kib})`, { details: { field: 'cacheKiB' } });
  return kib;
}

export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { durable: true, shared: true };
  private readonly c: SqliteConn;
  private readonly walSyncer: WalSyncer | null;
  private readonly feed: ChangeFeed;
  /** Each key's recent use on flow-controlled queues, as this store's claims saw it (fair claims). */
  private readonly usage = new KeyUsage();
  /** Queues this store's last claim found flow-controlled: their finishes free cluster-wide slots other processes may wait on. */
  private readonly limitedQueues = new Set<string>();
  private closing: Promise<void> | null = null;
  private readonly path: string;

  constructor(options: SqliteStoreOptions) {
    checkSqlitePath(options.path);
    const cache = cacheKiB(options.cacheKiB);
    this.path = options.path;
    let db: Database.Database;
    let walSyncer: WalSyncer | null = null;
    try {
      // Private by default: jobs carry whatever callers put in them. SQLite gives the -wal and -shm files the same mode.
      if (!existsSync(options.path)) closeSync(openSync(options.path, constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL, 0o600));
      db = new Database(options.path);
      db.pragma('journal_mode = WAL');
      // No fsync inside COMMIT; the durable ones are fsynced by WalSyncer (a worker's own transitions are not).
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs}`);
      db.pragma(`cache_size = ${-cache}`);
      migrate(db);
      if (options.synchronous !== 'normal') walSyncer = new WalSyncer(`${options.path}-wal`);
    } catch (err) {
      if (err instanceof JobqError) throw err;
      const mapped = mapSqliteError(err);
      if (mapped instanceof JobqError) throw new JobqError(mapped.code, `cannot open the SQLite database: ${mapped.message}`, { cause: err });
      throw storeUnavailable(`cannot open the SQLite database: ${(err as { code?: string }).code ?? (err as Error).message}`, err);
    }
    this.walSyncer = walSyncer;
    this.c = new SqliteConn(db, walSyncer);
    this.feed = new ChangeFeed(this.c, options.watchIntervalMs ?? SQLITE_DEFAULTS.watchIntervalMs);
  }

  async jobInsertMany({ jobs }: JobInsertManyParams): Promise<InsertResult> {
    if (jobs.length === 0) return NOTHING_SPECIAL;
    // Keys and dependencies take the linked path; plain batches (the hot path) stay one statement per row.
    const wake = () => this.wakeOthers(jobs);
    if (jobs.some((j) => j.key !== null || j.dependsOn !== null)) return this.c.durable(() => insertLinked(this.c, jobs), wake);
    const insert = this.c.stmt(SQL.INSERT_JOB);
    await this.c.durable(() => {
      const keyOf = concurrencyKeys(this.c);
      for (const j of jobs) {
        insert.run(
          j.id,
          j.queue,
          j.type,
          j.payloadJson,
          j.status,
          j.priority,
          j.maxAttempts,
          j.timeoutMs,
          j.runAt,
          j.createdAt,
          j.createdAt,
          keyOf(j.queue, j.concurrencyKey),
          j.rateKey,
          traceContextText(j),
        );
      }
    }, wake);
    return NOTHING_SPECIAL;
  }

  /** Other processes' loops for the queues of jobs that are ready now (scheduled ones are found by their due timers or the poll). */
  private wakeOthers(jobs: readonly { queue: string; status: string }[]): void {
    let first: string | null = null;
    let queues: string[] | null = null;
    for (const j of jobs) {
      if (j.status !== 'pending' || j.queue === first) continue;
      if (first === null) first = j.queue;
      else (queues ??= [first]).push(j.queue);
    }
    if (first !== null) this.feed.notify(queues ?? [first]);
  }

  async jobClaim(p: JobClaimParams): Promise<LeasedJob[]> {
    const jobs = claim(this.c, p, this.usage);
    if (jobs.flowControlled) this.limitedQueues.add(p.queue);
    else this.limitedQueues.delete(p.queue);
    return jobs;
  }

  async jobExtendLeases(p: JobExtendLeasesParams): Promise<string[]> {
    const extend = this.c.stmt(SQL.EXTEND_LEASE);
    const leaseExpiresAt = p.now + p.leaseMs;
    return this.c.write(() => p.leases.filter((l) => extend.run({ id: l.id, leaseToken: l.leaseToken, leaseExpiresAt, now: p.now }).changes === 1).map((l) => l.id));
  }

  async jobFinishMany(p: JobFinishManyParams): Promise<JobRef[]> {
    const done = this.finish(p);
    this.wakeAfterFinish(p, done);
    return done;
  }

  /**
   * Other processes' loops, for what a batch of finishes made claimable:
   * jobs retried at once (a rescue's too), dependents now pending, and the
   * slots of flow-controlled queues. Plain completions wake nobody.
   */
  private wakeAfterFinish(p: JobFinishManyParams, done: readonly JobRef[]): void {
    let retried: Set<string> | null = null;
    for (const f of p.finishes) if (f.outcome.kind === 'retry' && f.outcome.status === 'pending') (retried ??= new Set()).add(f.id);
    let ready: { queue: string; status: string }[] | null = null;
    for (const ref of done) {
      if (this.limitedQueues.has(ref.queue) || retried?.has(ref.id)) (ready ??= []).push({ queue: ref.queue, status: 'pending' });
      if (ref.dependents) (ready ??= []).push(...ref.dependents);
    }
    if (ready) this.wakeOthers(ready);
  }

  private finish(p: JobFinishManyParams): JobRef[] {
    const { c } = this;
    return c.write(() => {
      const done: JobRef[] = [];
      // The fence as named parameters, for the rarer outcomes; a completion binds positionally (job-sql.ts).
      const fenced = (f: JobFinish) => ({ id: f.id, leaseToken: f.leaseToken, now: p.now });
      for (const f of p.finishes) {
        const o = f.outcome;
        if (o.kind === 'throttled') {
          const r = c.stmt(SQL.THROTTLE).get({ ...fenced(f), status: o.status, runAt: o.runAt }) as JobRef | undefined;
          if (!r) continue;
          hold(c, r.queue, o.holdKey, o.runAt);
          done.push(r);
          continue;
        }
        if (o.kind === 'completed' && hasLeased(f) && c.stmt(SQL.COMPLETE_PLAIN).run(o.resultJson, p.now, p.now, f.id, f.leaseToken).changes === 1) {
          done.push(leasedRef(f));
          continue;
        }
        const row = (
          o.kind === 'completed'
            ? c.stmt(SQL.COMPLETE).get(o.resultJson, p.now, p.now, f.id, f.leaseToken)
            : o.kind === 'retry'
              ? c.stmt(SQL.RETRY).get({ ...fenced(f), status: o.status, runAt: o.runAt, error: JSON.stringify(o.error) })
              : c.stmt(SQL.FAIL).get({ ...fenced(f), error: JSON.stringify(o.error) })
        ) as (JobRef & { has_dependents?: number }) | undefined;
        if (!row) continue;
        // A new object, not the row with a field deleted (that leaves V8 a slow dictionary object).
        const ref: JobRef = { id: row.id, queue: row.queue, type: row.type, attempts: row.attempts };
        if (row.has_dependents) {
          const dependents = cascade(c, ref.id, o.kind === 'completed' ? 'completed' : 'failed', p.now);
          if (dependents.length > 0) ref.dependents = dependents;
        }
        done.push(ref);
      }
      return done;
    });
  }

  async jobReleaseMany(p: JobReleaseManyParams): Promise<JobRef[]> {
    const release = this.c.stmt(SQL.RELEASE);
    const released = this.c.write(() => p.leases.map((l) => release.get({ id: l.id, leaseToken: l.leaseToken, now: p.now }) as JobRef | undefined).filter((r): r is JobRef => r !== undefined));
    this.wakeOthers(released.map((r) => ({ queue: r.queue, status: 'pending' })));
    return released;
  }

  async jobReleaseClaim(p: JobReleaseClaimParams): Promise<JobRef[]> {
    const released = this.c.write(() => this.c.stmt(SQL.RELEASE_CLAIM).all(p) as JobRef[]);
    this.wakeOthers(released.map((r) => ({ queue: r.queue, status: 'pending' })));
    return released;
  }

  async jobSetProgress(p: JobSetProgressParams): Promise<JobRef | null> {
    return this.c.write(() => (this.c.stmt(SQL.SET_PROGRESS).get(p) as JobRef | undefined) ?? null);
  }

  async jobExpiredLeases(p: JobExpiredLeasesParams): Promise<ExpiredLease[]> {
    const rows = this.c.read(() => this.c.stmt(SQL.EXPIRED_LEASES).all(p)) as { id: string; lease_token: string; queue: string; type: string; attempts: number; max_attempts: number }[];
    return rows.map((r) => ({ id: r.id, leaseToken: r.lease_token, queue: r.queue, type: r.type, attempts: r.attempts, maxAttempts: r.max_attempts }));
  }

  async jobGet(id: string): Promise<Job | null> {
    const row = this.c.read(() => this.c.stmt(SQL.GET_BY_ID).get({ id }) as JobRow | undefined);
    return row ? rowToJob(row) : null;
  }

  async jobList(p: JobListParams): Promise<JobListPage> {
    return listJobs(this.c, p);
  }

  async jobCancel(p: JobChangeParams): Promise<JobChangeResult> {
    return this.change(SQL.CANCEL, p);
  }

  async jobRetry(p: JobChangeParams): Promise<JobChangeResult> {
    return this.change(SQL.MANUAL_RETRY, p);
  }

  /** A guarded UPDATE … RETURNING; when it matched nothing, the status that stopped it. */
  private async change(sql: string, p: JobChangeParams): Promise<JobChangeResult> {
    const { c } = this;
    return c.durable((): JobChangeResult => {
      const row = c.stmt(sql).get({ id: p.id, from: JSON.stringify(p.from), now: p.now }) as (JobRow & { has_dependents: number; unique_key: string | null }) | undefined;
      if (!row) return { job: null, current: ((c.stmt(SQL.STATUS_BY_ID).get({ id: p.id }) as { status: JobStatus } | undefined)?.status ?? null) };
      if (row.status === 'pending') {
        retakeKey(c, row, p.now);
        if (row.has_dependents) c.stmt(SQL.DEP_REOPEN).run({ id: row.id });
      }
      const dependents = row.status === 'cancelled' && row.has_dependents ? cascade(c, row.id, 'cancelled', p.now) : [];
      return dependents.length > 0 ? { job: rowToJob(row), dependents } : { job: rowToJob(row) };
    }, (r) => {
      if (r.job) this.wakeOthers([r.job]);
    });
  }

  async jobDependencies(id: string): Promise<Job[]> {
    return this.c.read(() => (this.c.stmt(SQL.DEPENDENCIES).all({ id }) as JobRow[]).map(rowToJob));
  }

  async jobPrune(p: JobPruneParams): Promise<number> {
    return this.c.write(() => this.c.stmt(SQL.PRUNE[p.status]).run({ queue: p.queue, finishedBefore: p.finishedBefore, limit: p.limit }).changes);
  }

  async jobNextRunAt(queue: string): Promise<number | null> {
    return this.c.read(() => nextScheduledRunAt(this.c, queue));
  }

  queueRegister(p: QueueRegisterParams): Promise<void> {
    return cluster.queueRegister(this.c, p);
  }

  async queueSetPaused(p: { name: string; paused: boolean; maxQueues: number; now: number }): Promise<void> {
    await cluster.queueSetPaused(this.c, p);
    if (!p.paused) this.feed.notify([p.name]);
  }

  async queueConfigure(p: { name: string; settings: QueueSettings; maxQueues: number; now: number }): Promise<void> {
    await cluster.queueConfigure(this.c, p);
    this.feed.notify([p.name]);
  }

  async queueSettings(name: string): Promise<QueueSettings | null> {
    return cluster.queueSettings(this.c, name);
  }

  async queueList(p: QueueListParams): Promise<QueueInfo[]> {
    return cluster.queueList(this.c, p);
  }

  async queueNames(): Promise<string[]> {
    return cluster.queueNames(this.c);
  }

  scheduleUpsert(s: Schedule): Promise<void> {
    return schedules.scheduleUpsert(this.c, s);
  }

  async scheduleGet(name: string): Promise<Schedule | null> {
    return schedules.scheduleGet(this.c, name);
  }

  async scheduleList(p: { limit: number; after?: string }): Promise<Schedule[]> {
    return schedules.scheduleList(this.c, p);
  }

  scheduleRemove(name: string): Promise<boolean> {
    return schedules.scheduleRemove(this.c, name);
  }

  async scheduleDue(p: { now: number; limit: number }): Promise<Schedule[]> {
    return schedules.scheduleDue(this.c, p);
  }

  async scheduleAdvance(p: ScheduleAdvanceParams): Promise<boolean> {
    return schedules.scheduleAdvance(this.c, p);
  }

  tokenInsert(t: ApiToken): Promise<void> {
    return tokens.tokenInsert(this.c, t);
  }

  async tokenList(p: { includeRevoked: boolean }): Promise<ApiToken[]> {
    return tokens.tokenList(this.c, p);
  }

  tokenRevoke(p: { name: string; now: number }): Promise<ApiToken | null> {
    return tokens.tokenRevoke(this.c, p);
  }

  async tokenTouch(p: { ids: readonly string[]; now: number }): Promise<void> {
    tokens.tokenTouch(this.c, p);
  }

  async nodeHeartbeat(node: NodeInfo): Promise<void> {
    cluster.nodeHeartbeat(this.c, node);
  }

  async nodeList(p: { since: number }): Promise<NodeInfo[]> {
    return cluster.nodeList(this.c, p.since);
  }

  async nodeRemove(id: string): Promise<void> {
    cluster.nodeRemove(this.c, id);
  }

  async leaderTryAcquire(p: LeaderParams): Promise<boolean> {
    return cluster.leaderTryAcquire(this.c, p);
  }

  async leaderRelease(p: { name: string; nodeId: string }): Promise<void> {
    cluster.leaderRelease(this.c, p);
  }

  /** A lock that ends with its process (see leader-lock.ts); the lease rows remain for other uses. */
  leaderLock(name: string): LeaderLock {
    return new FileLeaderLock(`${this.path}.leader-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  }

  /** A read and a write that changes nothing: fails on a locked, read-only or broken database. */
  async ping(): Promise<void> {
    this.c.write(() => this.c.stmt(`UPDATE leaders SET expires_at = expires_at WHERE name = ''`).run());
  }

  watchChanges(onChange: (queues?: readonly string[]) => void): () => void {
    return this.feed.watch(onChange);
  }

  publishEvents(nodeId: string, events: readonly JobEvent[]): void {
    this.feed.publish(nodeId, events);
  }

  remoteSubscribers(nodeId: string): boolean {
    return this.feed.othersSubscribing(nodeId);
  }

  subscribeEvents(nodeId: string, onEvents: (events: readonly JobEvent[]) => void): () => void {
    return this.feed.subscribe(nodeId, onEvents);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // The feed first: it removes its wake-up listener row while the database is open.
      this.feed.close();
      this.c.closed = true;
      this.walSyncer?.close();
      this.c.db.close();
    })();
    return this.closing;
  }
}
