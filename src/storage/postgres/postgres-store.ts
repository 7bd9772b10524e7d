/**
 * The Postgres backend: many jobq nodes on one database. Claims use
 * FOR UPDATE SKIP LOCKED against a partial index in claim order; batches are
 * one statement each (unnest); one NOTIFY per committed insert batch wakes
 * every node's LISTEN connection, with polling as the fallback (PgBouncer).
 * Listings, queues and nodes, and the event feed live in their own modules.
 */
import type pg from 'pg';
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
  ClaimedJobs,
  DependentChange,
  InsertResult,
  JobInsertManyParams,
  JobListPage,
  NewJobRecord,
  JobListParams,
  JobPruneParams,
  JobRef,
  JobReleaseClaimParams,
  JobReleaseManyParams,
  JobSetProgressParams,
  LeaderLock,
  Schedule,
  ScheduleAdvanceParams,
  Store,
  StoreCapabilities,
  JobClaimByIdsParams,
  OutboxEntry,
  IngestRecordsParams,
  IngestRecordsResult,
} from '../../contracts/store.js';
import { hasLeased, leasedRef, NOTHING_SPECIAL, type LeasedFinish } from '../../contracts/store.js';
import { storeClosed, storeUnavailable } from '../errors.js';
import { rowToJob, type JobRow } from '../job-row.js';
import { clusterStatements, type ClusterStatements } from './cluster-sql.js';
import { PgCluster } from './cluster.js';
import { COPY_MIN_JOBS, copyInsert } from './copy-insert.js';
import { POSTGRES_DEFAULTS } from './defaults.js';
import { Pool, types } from './driver.js';
import { isOwnIdConflict, isSchemaMissing, mapPgError } from './errors.js';
import { PgEventFeed } from './event-feed.js';
import { AdvisoryLeaderLock, advisoryKey } from './leader-lock.js';
import { Listener } from './listener.js';
import { PreparedStatements } from './prepared.js';
import { cascadeEnd, insertLinked, linkStatements, sweepStranded, type LinkStatements } from './links.js';
import { flowStatements, type FlowStatements } from './flow.js';
import { listJobs } from './lists.js';
import { enableOutbox, ingestRecords, outboxStatements, readOutbox, type OutboxStatements } from './outbox.js';
import { PgSchedules } from './schedules.js';
import { destroySilentConnections } from './silent-connections.js';
import { PgTokens } from './tokens.js';
import { inTransaction } from './transaction.js';
import { migrate, quoteIdent } from './migrations.js';
import { jobStatements, type JobStatements } from './sql.js';
import { PgClaims } from './claims.js';
import { finishParams, insertParams } from './statement-params.js';
import { DEFAULT_RETRY, withTransientRetry } from './transient.js';

export interface PostgresStoreOptions {
  /** postgres://user:pass@host:port/db */
  connectionString: string;
  /** Schema holding jobq's tables. @defaultValue 'jobq' */
  schema?: string;
  /** Connections per pool (a store has two: durable and worker). @defaultValue 10 */
  poolSize?: number;
  /** LISTEN for wake-ups; turn off behind PgBouncer in transaction mode (polling then). @defaultValue true */
  listen?: boolean;
  /** Named prepared statements (parsed once per connection, planned per call); turn off behind PgBouncer in transaction mode before 1.21. @defaultValue true */
  prepare?: boolean;
  /** How long a statement may wait without a byte from the server before its connection is dropped and the statement retried on another; 0 never drops one. @defaultValue 30000 */
  replyTimeoutMs?: number;
  /** Apply migrations on open (and again if the schema disappears). @defaultValue true */
  migrate?: boolean;
  /** Told about transient errors being retried and listener reconnects. */
  onWarning?: (message: string, err: unknown) => void;
}

/** bigint as number (epoch ms and seq fit easily), JSON left as text: rowToJob parses it once. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    if (oid === 114 || oid === 3802) return (v: string) => v;
    return types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

const RETRY_STATUSES = ['completed', 'failed', 'pending', 'scheduled'];

/** The finish statements that come in a batch form and a one-row form (sql.ts). */
type FinishKind = 'finishPlain' | 'finishPlainIds' | 'finish';

/** A row of the finish statement: a finished job ('f') or a dependent it made ready ('d'). */
interface FinishRow {
  kind: 'f' | 'd';
  id: string;
  queue: string;
  type: string;
  attempts: number;
  status: JobStatus;
  has_dependents: boolean;
  dep: string | null;
}

/**
 * A finished job's row that moved no dependent, nor will (nearly every row): its ref is the row's,
 * without the map finishedRefs builds to hang dependents on.
 */
const isPlainFinish = (r: FinishRow): boolean => r.kind === 'f' && !(r.has_dependents && r.status === 'failed');

const refOf = (r: FinishRow): JobRef => ({ id: r.id, queue: r.queue, type: r.type, attempts: r.attempts });

function isLinked(jobs: readonly NewJobRecord[]): boolean {
  return jobs.some((j) => j.key !== null || j.dependsOn !== null);
}

export class PostgresStore extends PgCluster implements Store {
  readonly capabilities: StoreCapabilities = { durable: true, shared: true, orderingKeys: true };
  readonly schema: string;
  protected readonly pool: pg.Pool;
  /**
   * Connections with synchronous_commit off, for a worker's own transitions
   * (claim, heartbeat, finish, release, rescue): they skip the wait for the WAL
   * flush; a crash of the server can at worst make a job run again. Enqueues,
   * cancels and retries a client is told about use the durable pool.
   */
  private readonly workerPool: pg.Pool;
  /**
   * Durable connections for the plain insert alone (an enqueue of fewer than
   * COPY_MIN_JOBS jobs without keys or dependencies): the one statement of
   * the main pool's that Postgres may keep a generic plan of, since its plan
   * never depends on its parameters. Planning it was 0.16-0.28 of about 1 ms
   * per single-job enqueue (EXPLAIN ANALYZE); with the plan kept, sequential
   * enqueues ran at 1,159-1,390 against 929-1,014 jobs/s (3 alternated runs).
   * The enqueuer commits one batch at a time, so two connections are plenty.
   */
  private readonly insertPool: pg.Pool;
  private readonly sql: JobStatements;
  private readonly claims: PgClaims;
  private readonly lsql: LinkStatements;
  private readonly fsql: FlowStatements;
  private readonly osql: OutboxStatements;
  private readonly schedules: PgSchedules;
  private readonly tokens: PgTokens;
  protected readonly csql: ClusterStatements;
  private readonly channel: string;
  private readonly listen: boolean;
  private readonly prepared: PreparedStatements;
  private readonly onWarning: (message: string, err: unknown) => void;
  private readonly feed: PgEventFeed;
  private listener: Listener | null = null;
  private readonly wakeWatchers = new Set<(queues?: readonly string[]) => void>();
  protected closed = false;
  private closing: Promise<void> | null = null;

  private constructor(private readonly options: PostgresStoreOptions) {
    super();
    this.schema = options.schema ?? POSTGRES_DEFAULTS.schema;
    const s = quoteIdent(this.schema);
    this.channel = `jobq_${this.schema}`;
    this.sql = jobStatements(s, this.channel);
    this.lsql = linkStatements(s, this.channel);
    this.fsql = flowStatements(s);
    this.osql = outboxStatements(s, this.schema);
    this.schedules = new PgSchedules((text, values) => this.query(text, values), s);
    this.tokens = new PgTokens((text, values) => this.query(text, values), (fn) => this.transaction(fn), s);
    this.csql = clusterStatements(s);
    this.listen = options.listen ?? POSTGRES_DEFAULTS.listen;
    this.onWarning = options.onWarning ?? (() => {});
    const max = options.poolSize ?? POSTGRES_DEFAULTS.poolSize;
    // Names this process's connections in pg_stat_activity (and lets operators target them).
    const application_name = `jobq/${process.pid}`;
    // A connection that cannot be made in time fails as a transient error and is retried; one
    // that goes silent under a statement is dropped (silent-connections.ts).
    const limits = { connectionTimeoutMillis: 10_000, keepAlive: true };
    // Prepared statements (prepared.ts) on this pool are planned for their parameters every time:
    // its statements are not all safe with a generic plan (a list's filters), and a plan made for
    // one queue's parameters is no guide to another's.
    const planning = '-c plan_cache_mode=force_custom_plan';
    this.pool = new Pool({ connectionString: options.connectionString, max, types: TYPES, application_name, ...limits, options: planning });
    // enable_bitmapscan=off: with stale statistics (a bulk load not yet analyzed) the planner
    // chose a bitmap scan of every pending row plus a sort for each claim (7.3 ms for 18k
    // pending rows, measured); the ordered scan of jobs_claim stops after LIMIT rows.
    // pipeline: statements issued together on one client (a limited claim's first four, flow.ts)
    // go out in one write and are answered in order; pg 8 deprecates queueing them otherwise.
    this.workerPool = new Pool({
      connectionString: options.connectionString,
      max,
      types: TYPES,
      application_name,
      ...limits,
      pipeline: true,
      // plan_cache_mode=auto: the worker's statements (claims by size, finishes, heartbeats, claims
      // by id) are found by primary key or by the head of one index, so Postgres may keep a
      // generic plan of each after five executions instead of planning every call (planning was
      // 273 of 1,208 ms per 1,000 claims of a concurrency-50 drain, pg_stat_statements). Drains of
      // one node, 3 alternated rounds each, with and without ANALYZE first: concurrency 1 from
      // 1,613-1,666 to 2,394-2,615 jobs/s, concurrency 50 from 23,393-24,776 to 24,848-28,037.
      // sql.ts writes those statements so that any generic plan is the right one (claim sizes,
      // ids looked up by id; postgres-prepared.test.ts checks the plans). Flow-controlled claims
      // set their own mode (flow.ts).
      options: '-c synchronous_commit=off -c enable_bitmapscan=off -c plan_cache_mode=auto',
    });
    this.insertPool = new Pool({ connectionString: options.connectionString, max: 2, types: TYPES, application_name: `${application_name}/insert`, ...limits, options: '-c plan_cache_mode=auto' });
    this.claims = new PgClaims({
      schema: s,
      sql: this.sql,
      fsql: this.fsql,
      osql: this.osql,
      workerPool: this.workerPool,
      named: (c) => this.prepared.client(c),
      send: (pool, text, values) => this.send(pool, text, values),
      query: (text, values, pool, onRetry) => this.query(text, values, pool, onRetry),
      transaction: (fn, onRetry, pool) => this.transaction(fn, onRetry, pool),
      onWarning: (message, err) => this.onWarning(message, err),
    });
    this.prepared = new PreparedStatements([this.sql, this.lsql, this.fsql, this.osql, this.csql, ...this.claims.statements.flatMap((c) => Object.values(c))], options.prepare ?? POSTGRES_DEFAULTS.prepare);
    for (const p of this.pools()) {
      // An idle client losing its connection (server restart) must not crash the process.
      p.on('error', (err) => this.onWarning('idle Postgres connection lost', err));
      destroySilentConnections(p, options.replyTimeoutMs ?? POSTGRES_DEFAULTS.replyTimeoutMs);
    }
    this.feed = new PgEventFeed(this.pool, this.csql, `jobq_events_${this.schema}`, () => this.ensureListener(), () => this.closed);
  }

  /** Every connection pool of this store (error handlers, closing). */
  private pools(): pg.Pool[] {
    return [this.pool, this.workerPool, this.insertPool];
  }

  /** Connects (retrying while the server is not up yet) and migrates. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      if (options.migrate ?? true) await withTransientRetry(() => migrate(store.pool, store.schema));
    } catch (err) {
      await Promise.all(store.pools().map((p) => p.end())).catch(() => {});
      if (err instanceof JobqError) throw err;
      const code = (err as { code?: string }).code;
      throw storeUnavailable(`cannot open the Postgres store: ${code ?? (err as Error).message}`, err);
    }
    return store;
  }

  protected async query<R extends pg.QueryResultRow>(text: string, values: unknown[], pool = this.pool, onRetry?: () => void): Promise<pg.QueryResult<R>> {
    if (this.closed) throw storeClosed();
    try {
      return await withTransientRetry(
        () => this.send<R>(pool, text, values),
        DEFAULT_RETRY,
        (err, attempt) => {
          onRetry?.();
          this.onWarning(`transient Postgres error, retry ${attempt}`, err);
        },
      );
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** One statement, named when it may be (prepared.ts). */
  private send<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.againIfStale(() => pool.query<R>(this.prepared.config(text, values)));
  }

  /**
   * Runs `run` once more when it failed because a prepared statement went
   * stale: staleAfter() has then turned names off, so the second run sends
   * every statement unnamed (a transaction was rolled back, and runs whole).
   */
  private async againIfStale<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!this.prepared.staleAfter(err)) throw err;
      this.onWarning('the schema changed under this node (a newer jobq migrated it?); prepared statements are off until it restarts', err);
      return run();
    }
  }

  /** The insert statement for `jobs` (not linked, fewer than COPY takes) and its parameters: the one-row form for a single job. */
  private insertStatement(jobs: readonly NewJobRecord[]): [string, unknown[]] {
    return [jobs.length === 1 ? this.sql.insertOne : this.sql.insert, insertParams(jobs)];
  }

  async jobInsertMany(p: JobInsertManyParams): Promise<InsertResult> {
    if (p.jobs.length === 0) return NOTHING_SPECIAL;
    if (isLinked(p.jobs)) return this.insertLinkedBatch(p.jobs);
    let retried = false;
    try {
      if (p.jobs.length >= COPY_MIN_JOBS) await this.transaction((c) => copyInsert(c, quoteIdent(this.schema), this.channel, p.jobs), () => (retried = true));
      else await this.query(...this.insertStatement(p.jobs), this.insertPool, () => (retried = true));
    } catch (err) {
      // The ids are ours: a unique violation of the id after a retry means the first try did commit.
      if (retried && isOwnIdConflict(err)) return NOTHING_SPECIAL;
      throw err;
    }
    return NOTHING_SPECIAL;
  }

  /** Keys or dependencies: several statements, one transaction (links.ts). */
  private async insertLinkedBatch(jobs: readonly NewJobRecord[]): Promise<InsertResult> {
    let retried = false;
    try {
      return await this.transaction((c) => insertLinked(c, this.lsql, jobs), () => (retried = true));
    } catch (err) {
      if (!(retried && isOwnIdConflict(err))) throw err;
    }
    // The first try committed and its reply was lost: say what it did from what is stored.
    const ids = jobs.map((j) => j.id);
    const { rows } = await this.query<{ id: string; status: JobStatus }>(`SELECT id::text AS id, status FROM ${quoteIdent(this.schema)}.jobs WHERE id = ANY($1::uuid[])`, [ids]);
    const stored = new Map(rows.map((r) => [r.id, r.status]));
    const result: InsertResult = { deduplicated: [], initial: [] };
    for (const [index, j] of jobs.entries()) {
      const status = stored.get(j.id);
      if (status !== undefined) {
        if (status !== j.status) result.initial.push({ index, status });
        continue;
      }
      const holder = (await this.query<JobRow>(this.lsql.holders, [[j.key]])).rows[0];
      if (holder) result.deduplicated.push({ index, job: rowToJob(holder), replaced: false });
    }
    return result;
  }

  /** Inserts inside the caller's own transaction: the jobs exist if and only if it commits. */
  async jobInsertManyWith(client: unknown, p: JobInsertManyParams): Promise<InsertResult> {
    if (p.jobs.length === 0) return NOTHING_SPECIAL;
    try {
      if (isLinked(p.jobs)) return await insertLinked(client as pg.ClientBase, this.lsql, p.jobs);
      await (client as pg.ClientBase).query(...this.insertStatement(p.jobs));
      return NOTHING_SPECIAL;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  protected async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, onRetry?: () => void, pool = this.pool): Promise<T> {
    if (this.closed) throw storeClosed();
    try {
      return await withTransientRetry(
        () => this.againIfStale(() => inTransaction(pool, fn, (err) => this.onWarning('Postgres connection lost during a transaction', err))),
        DEFAULT_RETRY,
        (err, attempt) => {
          onRetry?.();
          this.onWarning(`transient Postgres error, retry ${attempt}`, err);
        },
      );
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async jobClaim(p: JobClaimParams): Promise<ClaimedJobs> {
    if (p.limit <= 0) return [];
    if (this.closed) throw storeClosed();
    return this.claims.claim(p);
  }

  jobClaimByIds(p: JobClaimByIdsParams): Promise<LeasedJob[]> {
    return p.ids.length === 0 ? Promise.resolve([]) : this.claims.claimByIds(p);
  }

  outboxEnable(): Promise<void> {
    return enableOutbox((text, values) => this.query(text, values), this.osql, quoteIdent(this.schema));
  }

  outboxRead(p: { limit: number; published?: readonly number[] }): Promise<OutboxEntry[]> {
    return readOutbox((text, values) => this.query(text, values, this.workerPool), this.osql, p.limit, p.published ?? []);
  }

  async outboxDelete(p: { seqs: readonly number[] }): Promise<void> {
    if (p.seqs.length > 0) await this.query(this.osql.delete, [p.seqs], this.workerPool);
  }

  async jobPromoteDue(p: { queues: readonly string[]; now: number; limit: number }): Promise<number> {
    if (p.queues.length === 0) return 0;
    return (await this.query(this.osql.promoteDue, [p.queues, p.now, p.limit], this.workerPool)).rowCount ?? 0;
  }

  async jobNextDue(p: { queues: readonly string[] }): Promise<number | null> {
    if (p.queues.length === 0) return null;
    return (await this.query<{ next: number | null }>(this.osql.nextDue, [p.queues])).rows[0]?.next ?? null;
  }

  /** Topic ingest: the jobs and the partition's position commit together (durable pool). */
  ingestRecords(p: IngestRecordsParams): Promise<IngestRecordsResult> {
    return this.transaction((c) => ingestRecords(c, this.osql, (tx, jobs) => this.jobInsertManyWith(tx, { jobs }), p));
  }

  async jobExtendLeases(p: JobExtendLeasesParams): Promise<string[]> {
    if (p.leases.length === 0) return [];
    const { rows } = await this.query<{ id: string }>(this.sql.extend, [p.leases.map((l) => l.id), p.leases.map((l) => l.leaseToken), p.now + p.leaseMs, p.now], this.workerPool);
    return rows.map((r) => r.id);
  }

  /** A finish statement for `finishes` and its parameters: the one-row form with scalars for a single finish (sql.ts, FINISH_ONE). */
  private finishStatement(kind: FinishKind, finishes: readonly JobFinish[], now: number): [string, unknown[]] {
    return [finishes.length === 1 ? this.sql[`${kind}One`] : this.sql[kind], finishParams(finishes, now)];
  }

  async jobFinishMany(p: JobFinishManyParams): Promise<JobRef[]> {
    if (p.finishes.length === 0) return [];
    let retried = false;
    const onRetry = () => (retried = true);
    const { finishes } = p;
    const refs = finishes.every(hasLeased) ? await this.finishKnown(finishes, p.now, onRetry) : await this.finishedRefs(await this.finishRows(p, onRetry), p.now);
    await this.holdThrottled(p, refs);
    this.slotsFreed(refs);
    if (!retried || refs.length === p.finishes.length) return refs;
    // A retried finish: the lost attempt may have written some rows; they carry this call's time.
    const done = new Set(refs.map((r) => r.id));
    const missing = p.finishes.filter((f) => !done.has(f.id)).map((f) => f.id);
    const { rows: earlier } = await this.query<JobRef>(this.sql.finishedAt, [missing, p.now, RETRY_STATUSES], this.workerPool);
    return [...refs, ...earlier];
  }

  /** The rows of the finish statements: plain finishes first, then the rest. */
  private async finishRows(p: JobFinishManyParams, onRetry: () => void): Promise<FinishRow[]> {
    const { plain, rest } = await this.finishPlainFirst<FinishRow>('finishPlain', p.finishes, p.now, onRetry);
    return rest.length === 0 ? plain : [...plain, ...rest];
  }

  /**
   * Finishes whose workers know their jobs: the plain ones are answered from
   * what the workers know, so Postgres sends back only their ids (a row of
   * eight columns per job was parsed, and allocated, only to be copied).
   */
  private async finishKnown(finishes: readonly LeasedFinish[], now: number, onRetry: () => void): Promise<JobRef[]> {
    const { plain, rest } = await this.finishPlainFirst<{ id: string }>('finishPlainIds', finishes, now, onRetry);
    if (plain.length === finishes.length) return finishes.map(leasedRef);
    const ids = new Set(plain.map((r) => r.id));
    return [...finishes.filter((f) => ids.has(f.id)).map(leasedRef), ...(await this.finishedRefs(rest, now))];
  }

  /**
   * A plain finish statement (`kind`: jobs nothing depends on), then, for
   * what it left out (jobs with dependents, and lost leases, which change
   * nothing), the statement that moves dependents.
   */
  private async finishPlainFirst<R extends { id: string }>(kind: Exclude<FinishKind, 'finish'>, finishes: readonly JobFinish[], now: number, onRetry: () => void): Promise<{ plain: R[]; rest: FinishRow[] }> {
    const { rows: plain } = await this.query<R>(...this.finishStatement(kind, finishes, now), this.workerPool, onRetry);
    if (plain.length === finishes.length) return { plain, rest: [] };
    const done = new Set(plain.map((r) => r.id));
    const left = finishes.filter((f) => !done.has(f.id));
    return { plain, rest: (await this.query<FinishRow>(...this.finishStatement('finish', left, now), this.workerPool, onRetry)).rows };
  }

  /**
   * The finish statement's rows as refs: each finished job with the
   * dependents its completion made ready; a failure's dependents are moved
   * right after, in their own transaction (the sweep repairs a crash between).
   */
  private async finishedRefs(rows: readonly FinishRow[], now: number): Promise<JobRef[]> {
    if (rows.every(isPlainFinish)) return rows.map(refOf);
    const refs = new Map<string, JobRef>();
    for (const r of rows) if (r.kind === 'f') refs.set(r.id, refOf(r));
    for (const r of rows) {
      if (r.kind !== 'd') continue;
      const change: DependentChange = { id: r.id, queue: r.queue, type: r.type, attempts: r.attempts, status: r.status as 'pending' | 'scheduled', dependency: r.dep! };
      const parent = refs.get(r.dep!) ?? [...refs.values()][0];
      if (parent) (parent.dependents ??= []).push(change);
    }
    for (const r of rows) {
      if (r.kind !== 'f' || !r.has_dependents || r.status !== 'failed') continue;
      const changes = await this.transaction((c) => cascadeEnd(c, this.lsql, r.id, 'failed', now), undefined, this.workerPool);
      if (changes.length > 0) (refs.get(r.id)!.dependents ??= []).push(...changes);
    }
    return [...refs.values()];
  }

  /**
   * Finished jobs of a flow-controlled queue free cluster-wide slots: wake the
   * nodes waiting on them (one NOTIFY per batch) rather than leave them to
   * their poll. Best effort: the poll still covers a lost one.
   */
  private slotsFreed(refs: readonly JobRef[]): void {
    if (!this.claims.anyLimited) return;
    const queues = [...new Set(refs.map((r) => r.queue))].filter((q) => this.claims.isLimited(q));
    if (queues.length > 0) void this.query(`SELECT pg_notify($1, $2)`, [this.channel, queues.join(',')], this.workerPool).catch(() => {});
  }

  /** Throttled jobs hold their rate key (or their queue) until they run again. */
  private async holdThrottled(p: JobFinishManyParams, refs: readonly JobRef[]): Promise<void> {
    if (!p.finishes.some((f) => f.outcome.kind === 'throttled')) return;
    const applied = new Map(refs.map((r) => [r.id, r]));
    for (const f of p.finishes) {
      const ref = applied.get(f.id);
      if (f.outcome.kind === 'throttled' && ref) await this.query(this.fsql.hold, [ref.queue, f.outcome.holdKey ?? '', f.outcome.runAt], this.workerPool);
    }
  }

  async jobFinishWith(client: unknown, p: JobFinishManyParams): Promise<JobRef[]> {
    if (p.finishes.length === 0) return [];
    try {
      const { rows } = await (client as pg.ClientBase).query<FinishRow>(...this.finishStatement('finish', p.finishes, p.now));
      return rows.filter((r) => r.kind === 'f').map((r) => ({ id: r.id, queue: r.queue, type: r.type, attempts: r.attempts }));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async jobDependencies(id: string): Promise<Job[]> {
    return (await this.query<JobRow>(this.sql.dependencies, [id])).rows.map(rowToJob);
  }

  async jobSweepDependencies(p: { now: number; limit: number }): Promise<DependentChange[]> {
    return this.transaction((c) => sweepStranded(c, this.lsql, p.now, p.limit), undefined, this.workerPool);
  }

  async jobReleaseMany(p: JobReleaseManyParams): Promise<JobRef[]> {
    if (p.leases.length === 0) return [];
    const { rows } = await this.query<JobRef>(this.sql.release, [p.leases.map((l) => l.id), p.leases.map((l) => l.leaseToken), p.now], this.workerPool);
    return rows;
  }

  async jobReleaseClaim(p: JobReleaseClaimParams): Promise<JobRef[]> {
    return (await this.query<JobRef>(this.sql.releaseClaim, [p.leaseToken, p.now], this.workerPool)).rows;
  }

  async jobSetProgress(p: JobSetProgressParams): Promise<JobRef | null> {
    const { rows } = await this.query<JobRef>(this.sql.progress, [p.id, p.leaseToken, p.progress, p.now], this.workerPool);
    return rows[0] ?? null;
  }

  async jobExpiredLeases(p: JobExpiredLeasesParams): Promise<ExpiredLease[]> {
    // Claims take due scheduled jobs directly; this keeps the status of the ones still waiting truthful.
    await this.query(this.sql.promote, [p.now], this.workerPool);
    const { rows } = await this.query<{ id: string; lease_token: string; queue: string; type: string; attempts: number; max_attempts: number }>(this.sql.expired, [p.now, p.limit], this.workerPool);
    return rows.map((r) => ({ id: r.id, leaseToken: r.lease_token, queue: r.queue, type: r.type, attempts: r.attempts, maxAttempts: r.max_attempts }));
  }

  async jobGet(id: string): Promise<Job | null> {
    const { rows } = await this.query<JobRow>(this.sql.get, [id]);
    return rows[0] ? rowToJob(rows[0]) : null;
  }

  async jobList(p: JobListParams): Promise<JobListPage> {
    return listJobs((text, values) => this.query(text, values), quoteIdent(this.schema), p);
  }

  async jobCancel(p: JobChangeParams): Promise<JobChangeResult> {
    return this.change(this.sql.cancel, p);
  }

  async jobRetry(p: JobChangeParams): Promise<JobChangeResult> {
    return this.change(this.sql.retry, p);
  }

  private async change(text: string, p: JobChangeParams): Promise<JobChangeResult> {
    const result = await this.transaction(async (c): Promise<JobChangeResult> => {
      const { rows } = await c.query<JobRow & { has_dependents: boolean; unique_key: string | null }>(text, [p.id, p.now, p.from]);
      const row = rows[0];
      if (!row) {
        const current = await c.query<{ status: JobStatus }>(this.sql.statusOf, [p.id]);
        return { job: null, current: current.rows[0]?.status ?? null };
      }
      if (row.status === 'pending' && row.key !== null && !row.unique_key) await this.retakeKey(c, row, p.now);
      const dependents = row.status === 'cancelled' && row.has_dependents ? await cascadeEnd(c, this.lsql, row.id, 'cancelled', p.now) : [];
      return dependents.length > 0 ? { job: rowToJob(row), dependents } : { job: rowToJob(row) };
    });
    return result;
  }

  /** A manually retried job takes its key back, unless another job holds it now (then the retry is refused, nothing changed). */
  private async retakeKey(c: pg.ClientBase, row: JobRow, now: number): Promise<void> {
    await c.query(this.lsql.releaseKeys, [[row.key], now]);
    try {
      await c.query('SAVEPOINT retake');
      await c.query(this.lsql.retake, [row.id, row.key]);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      await c.query('ROLLBACK TO SAVEPOINT retake');
      const holder = (await c.query<JobRow>(this.lsql.holders, [[row.key]])).rows[0];
      throw new JobqError('conflict', `job ${row.id} cannot run again: ${holder ? `job ${holder.id}` : 'another job'} now holds its key "${row.key}"`);
    }
  }

  async jobPrune(p: JobPruneParams): Promise<number> {
    const r = await this.query(this.sql.prune[p.status], [p.queue, p.finishedBefore, p.limit]);
    return r.rowCount ?? 0;
  }

  async jobNextRunAt(queue: string): Promise<number | null> {
    const { rows } = await this.query<{ next: number | null }>(this.sql.nextRunAt, [queue]);
    return rows[0]?.next ?? null;
  }

  protected async notifyQueue(name: string): Promise<void> {
    await this.query(`SELECT pg_notify($1, $2)`, [this.channel, name]);
  }

  scheduleUpsert(s: Schedule): Promise<void> {
    return this.schedules.upsert(s);
  }

  scheduleGet(name: string): Promise<Schedule | null> {
    return this.schedules.get(name);
  }

  scheduleList(p: { limit: number; after?: string }): Promise<Schedule[]> {
    return this.schedules.list(p);
  }

  scheduleRemove(name: string): Promise<boolean> {
    return this.schedules.remove(name);
  }

  scheduleDue(p: { now: number; limit: number }): Promise<Schedule[]> {
    return this.schedules.due(p);
  }

  scheduleAdvance(p: ScheduleAdvanceParams): Promise<boolean> {
    return this.schedules.advance(p);
  }

  tokenInsert(t: ApiToken): Promise<void> {
    return this.tokens.insert(t);
  }

  tokenList(p: { includeRevoked: boolean }): Promise<ApiToken[]> {
    return this.tokens.list(p);
  }

  tokenRevoke(p: { name: string; now: number }): Promise<ApiToken | null> {
    return this.tokens.revoke(p);
  }

  tokenTouch(p: { ids: readonly string[]; now: number }): Promise<void> {
    return this.tokens.touch(p);
  }

  leaderLock(name: string): LeaderLock {
    return new AdvisoryLeaderLock(
      { connectionString: this.options.connectionString, application_name: `jobq/${process.pid}/leader`, connectionTimeoutMillis: 10_000, keepAlive: true },
      advisoryKey(`jobq:${this.schema}:leader:${name}`),
      this.onWarning,
    );
  }

  /**
   * A read of jobq's tables and a check that the database takes writes. A
   * database that was dropped and recreated comes back here: with migrations
   * on, the schema is built again, then probed once more.
   */
  async ping(): Promise<void> {
    if (this.closed) throw storeClosed();
    try {
      await this.probe();
    } catch (err) {
      if (!isSchemaMissing(err) || !(this.options.migrate ?? true)) throw mapPgError(err);
      this.onWarning("jobq's tables are missing; migrating again", err);
      try {
        await migrate(this.pool, this.schema);
        await this.probe();
      } catch (again) {
        throw mapPgError(again);
      }
    }
  }

  private async probe(): Promise<void> {
    const s = quoteIdent(this.schema);
    const { rows } = await this.pool.query<{ ro: string }>(
      `SELECT current_setting('transaction_read_only') AS ro, EXISTS (SELECT 1 FROM ${s}.jobs LIMIT 1) AS any, (SELECT max(version) FROM ${s}.jobq_migrations) AS v`,
    );
    if (rows[0]?.ro === 'on') throw storeUnavailable('read-only');
  }

  private ensureListener(): Listener | null {
    if (!this.listen || this.closed) return null;
    this.listener ??= new Listener(
      { connectionString: this.options.connectionString, application_name: `jobq/${process.pid}/listen`, connectionTimeoutMillis: 10_000, keepAlive: true },
      () => {
        for (const w of this.wakeWatchers) w();
      },
      (err) => this.onWarning('LISTEN connection lost; reconnecting', err),
    );
    return this.listener;
  }

  watchChanges(onChange: (queues?: readonly string[]) => void): () => void {
    const listener = this.ensureListener();
    if (!listener) return () => {};
    if (this.wakeWatchers.size === 0) {
      listener.add(this.channel, (payload) => {
        const queues = payload ? payload.split(',') : undefined;
        for (const w of this.wakeWatchers) w(queues);
      });
    }
    this.wakeWatchers.add(onChange);
    return () => {
      this.wakeWatchers.delete(onChange);
      if (this.wakeWatchers.size === 0) listener.remove(this.channel);
    };
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
      this.closed = true;
      this.feed.close();
      await this.listener?.stop();
      await Promise.all(this.pools().map((p) => p.end()));
    })();
    return this.closing;
  }
}
