/**
 * The port between jobq and persistence. Internal and unstable: backends
 * implement it, the core calls it, users normally never touch it.
 *
 * Rules every backend follows (the conformance suite checks them):
 * - Methods take an explicit `now` (epoch ms) where time matters; stores never read the clock.
 * - Stores decide nothing about the lifecycle: the core computes target
 *   statuses, run times and errors; a store applies them under its fence.
 * - Anything done to a `processing` job by its worker (extend, finish, release, progress)
 *   is fenced by `leaseToken`: a worker that lost its lease changes nothing.
 * - Failures of the database itself (locked, read-only, gone, timed out)
 *   surface as JobqError `store_unavailable`; see storage/errors.ts.
 */
import type { JobEvent } from './events.js';
import type { DependencyPolicy, FinishedStatus, Job, JobError, JobStatus, LeasedJob, LeaseRef, TraceContext } from './job.js';

/** A fully formed new job; the core fills in ids, defaults and the initial status. */
export interface NewJobRecord {
  id: string;
  queue: string;
  type: string;
  /** JSON text of the payload, serialized once by the caller. */
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  runAt: number;
  createdAt: number;
  /** 'pending' when runAt <= createdAt, else 'scheduled' (the store makes it 'waiting' while dependencies are unfinished). */
  status: 'pending' | 'scheduled';
  /** Unique key, or null. */
  key: string | null;
  /** The key stays held at least until then (createdAt + uniqueForMs), even after the job finished; null: only while active. */
  keyUntil: number | null;
  /** A second enqueue of a held key: return the holder ('ignore') or, if it has not started, replace its payload and run time ('replace'). */
  onConflict: 'ignore' | 'replace';
  /** Ids of jobs that must complete first: already stored, or earlier in the same batch. */
  dependsOn: readonly string[] | null;
  onDependencyFailure: DependencyPolicy;
  concurrencyKey: string | null;
  /** The rate key (already defaulted to the concurrency key by the core). */
  rateKey: string | null;
  /** FIFO per key: the job starts only after every earlier job of this key in its queue ended. Stores with `orderingKeys` only. */
  orderingKey?: string | null;
  /** The enqueue's trace context (set by jobq's tracing when a tracer is active); stored as is and returned on the job. */
  traceContext?: TraceContext | null;
}

/** A new job's trace context as the stores keep it: JSON text, or null. */
export function traceContextText(r: NewJobRecord): string | null {
  return r.traceContext ? JSON.stringify(r.traceContext) : null;
}

/** What an insert did beyond the plain case (both lists empty for keyless, independent jobs). */
export interface InsertResult {
  /** Records not inserted because their key was held. */
  deduplicated: Deduplicated[];
  /** Records inserted with another status than they asked for: waiting on dependencies, or failed/cancelled by a dependency's end. */
  initial: { index: number; status: JobStatus }[];
}

export const NOTHING_SPECIAL: Readonly<InsertResult> = Object.freeze({ deduplicated: [], initial: [] });

/** A record of a batch that was not inserted because its key was held: the holder, possibly replaced. */
export interface Deduplicated {
  /** Index of the record in the batch. */
  index: number;
  job: Job;
  /** True when the holder's payload and run time were replaced (onConflict 'replace'). */
  replaced: boolean;
}

export interface JobInsertManyParams {
  jobs: readonly NewJobRecord[];
}

export interface JobClaimParams {
  queue: string;
  /** Only jobs of these types (the handlers this node has); null takes any type. */
  types: readonly string[] | null;
  limit: number;
  now: number;
  leaseMs: number;
  /**
   * Fences this claim; every job claimed by this call carries it. Also the
   * claim's identity: a store that retries the call after a lost reply must
   * return what the lost attempt took, never lease a second batch.
   */
  leaseToken: string;
}

export interface JobExtendLeasesParams {
  leases: readonly LeaseRef[];
  now: number;
  leaseMs: number;
}

/** What a finished attempt becomes; decided by the core (core/lifecycle.ts). */
export type JobOutcome =
  | { kind: 'completed'; resultJson: string | null }
  | { kind: 'retry'; status: 'pending' | 'scheduled'; runAt: number; error: JobError }
  | { kind: 'failed'; error: JobError }
  /**
   * The remote side throttled: back in line at runAt with the attempt given
   * back, and nothing of `holdKey` (the job's rate key; null: the whole
   * queue) starts before then.
   */
  | { kind: 'throttled'; status: 'pending' | 'scheduled'; runAt: number; holdKey: string | null };

/**
 * A claim's jobs, and what the claim learnt on the way:
 * - `flowControlled`: the queue has cluster-wide limits (its claims went through flow-plan.ts);
 * - `limited`: a limit held jobs back (a freed slot may let more start: claim again then);
 * - `wakeAt`: when the next held-back job may start, when a rate limit or a hold decides it;
 * - `nextRunAt`, on a claim that came back with fewer jobs than asked: the earliest run time
 *   after the claim's `now` of a scheduled job of the queue, any type (null: none), read with
 *   the claim. Absent when the store did not read it: ask `jobNextRunAt`.
 */
export type ClaimedJobs = LeasedJob[] & { wakeAt?: number; limited?: boolean; flowControlled?: boolean; nextRunAt?: number | null };

/** Whether any flow control applies (else claims take the plain path). */
export function hasLimits(s: QueueSettings | null | undefined): s is QueueSettings {
  return !!s && (s.concurrency !== null || s.perKeyConcurrency !== null || s.rateLimit !== null || s.perKeyRateLimit !== null);
}

/** Cluster-wide flow control of a queue (stored with it, so every node obeys the same limits). Null: no limit. */
export interface QueueSettings {
  /** At most this many jobs of the queue processing at once, across all nodes. */
  concurrency: number | null;
  /** At most this many jobs of one concurrencyKey processing at once. */
  perKeyConcurrency: number | null;
  /** At most `max` job starts in any window of `intervalMs`, for the queue. */
  rateLimit: RateLimit | null;
  /** The same per rateKey. */
  perKeyRateLimit: RateLimit | null;
}

export interface RateLimit {
  max: number;
  intervalMs: number;
}

export const NO_LIMITS: Readonly<QueueSettings> = Object.freeze({ concurrency: null, perKeyConcurrency: null, rateLimit: null, perKeyRateLimit: null });

export interface JobFinish extends LeaseRef {
  outcome: JobOutcome;
  /**
   * The job as the worker finishing it holds it, when it does (in-process
   * workers do; a remote worker's finish over HTTP names only the lease).
   * None of these change while the lease holds, so a store may answer an
   * applied finish with them instead of reading the row back.
   */
  leased?: Pick<JobRef, 'queue' | 'type' | 'attempts'>;
}

/** A finish whose worker said what it knows of the job (JobFinish.leased). */
export type LeasedFinish = JobFinish & { leased: NonNullable<JobFinish['leased']> };

export const hasLeased = (f: JobFinish): f is LeasedFinish => f.leased !== undefined;

/** The ref of an applied finish, from what its worker knows: nothing to read back. */
export function leasedRef(f: LeasedFinish): JobRef {
  return { id: f.id, queue: f.leased.queue, type: f.leased.type, attempts: f.leased.attempts };
}

export interface JobFinishManyParams {
  finishes: readonly JobFinish[];
  now: number;
}

/** Back to pending without spending the attempt. */
export interface JobReleaseManyParams {
  leases: readonly LeaseRef[];
  now: number;
}

/** Releases every job still held under a claim's token (its reply was lost); no attempt spent. */
export interface JobReleaseClaimParams {
  leaseToken: string;
  now: number;
}

/** What a transition applied to: enough for its event. */
export interface JobRef {
  id: string;
  queue: string;
  type: string;
  attempts: number;
  /** Waiting jobs this transition moved (a dependency completed, failed or was cancelled), in the same transaction. */
  dependents?: DependentChange[];
}

/** A waiting job moved by its dependency: ready (pending/scheduled), or failed/cancelled by its policy. */
export interface DependentChange extends Omit<JobRef, 'dependents'> {
  status: 'pending' | 'scheduled' | 'failed' | 'cancelled';
  /** The dependency that decided it. */
  dependency: string;
}

export interface JobSetProgressParams extends LeaseRef {
  progress: number;
  now: number;
}

export interface JobExpiredLeasesParams {
  now: number;
  limit: number;
}

/** A lease that ran out; the core decides what becomes of the job and finishes it under this token. */
export interface ExpiredLease extends LeaseRef {
  queue: string;
  type: string;
  attempts: number;
  maxAttempts: number;
}

/** Which heavy fields a listing carries. */
export interface ListInclude {
  payload: boolean;
  result: boolean;
}

/**
 * A listing. Each filter has its own order, the one its index keeps (see
 * docs/api.md): no filter lists by id (UUIDv7: the order jobs were made in), a
 * queue alone in the order that queue received its jobs; a status
 * lists in the order that status is worked in (pending: claim order within
 * queue and type; scheduled: run time; processing: lease expiry; finished:
 * finish time).
 */
export interface JobListParams {
  queue?: string;
  status?: JobStatus;
  /** Residual filters, applied while walking the queue/status order's index (no index of their own). */
  type?: string;
  key?: string;
  /** Created at or after / before (epoch ms). */
  createdAfter?: number;
  createdBefore?: number;
  /**
   * With a residual filter, look at most this many jobs of the queue/status
   * order for the page: a page may come back short (even empty) with a cursor
   * to go on from the last job looked at. No cursor once the walk reached the end.
   * @defaultValue DEFAULT_MAX_SCAN
   */
  maxScan?: number;
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
  include: ListInclude;
  /** Stop the page early (with a cursor) once the included payloads and results reach this many bytes; at least one job is always returned. */
  maxBytes: number;
}

/** How many jobs a page with residual filters looks at, at most (JobListParams.maxScan). */
export const DEFAULT_MAX_SCAN = 10_000;

/** A listed job; `payload` and `result` are present only when included. */
export type ListedJob = Omit<Job, 'payload' | 'result'> & { payload?: unknown; result?: unknown };

export interface JobListPage {
  jobs: ListedJob[];
  nextCursor: string | null;
}

/** A status change asked for by a user (cancel, manual retry), allowed only from `from`. */
export interface JobChangeParams {
  id: string;
  from: readonly JobStatus[];
  now: number;
}

/** `job` when the change was applied; otherwise the status that stopped it (null: no such job). */
export type JobChangeResult = { job: Job; current?: undefined; dependents?: DependentChange[] } | { job: null; current: JobStatus | null; dependents?: undefined };

export interface JobPruneParams {
  status: FinishedStatus;
  queue: string;
  finishedBefore: number;
  limit: number;
}

export type StatusCounts = Record<JobStatus, number>;

export interface QueueInfo {
  name: string;
  paused: boolean;
  settings: QueueSettings;
  counts: StatusCounts;
  /** Pending jobs per type: the core subtracts the types some live node handles. */
  pendingByType: Record<string, number>;
}

export interface QueueListParams {
  limit: number;
  /** Name of the last queue of the previous page. */
  after?: string;
}

export interface QueueRegisterParams {
  names: readonly string[];
  /** The most queues that may exist; registering beyond it throws capacity_exceeded. */
  maxQueues: number;
  now: number;
}

/** What a schedule enqueues at each slot. */
export interface ScheduledJob {
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number | null;
}

export const CATCH_UP_MODES = ['none', 'latest', 'all'] as const;
export type CatchUp = (typeof CATCH_UP_MODES)[number];

/** A cron schedule as stored. Times are epoch ms. */
export interface Schedule {
  name: string;
  cron: string;
  /** IANA time zone the cron expression is read in. */
  tz: string;
  job: ScheduledJob;
  /** After downtime: enqueue no missed slot, the latest one, or all of them (bounded). */
  catchUp: CatchUp;
  paused: boolean;
  /** The next slot not enqueued yet; null while paused. */
  nextRunAt: number | null;
  /** The last slot enqueued. */
  lastRunAt: number | null;
  lastJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Moves a schedule past the slots just enqueued, if nobody else did (compare-and-set on nextRunAt). */
export interface ScheduleAdvanceParams {
  name: string;
  expectedNextRunAt: number;
  nextRunAt: number;
  lastRunAt: number | null;
  lastJobId: string | null;
  now: number;
}

/** A running jobq process as other nodes see it. */
export interface NodeInfo {
  id: string;
  /** Queues it works and the job types it has handlers for. */
  queues: readonly string[];
  types: readonly string[];
  startedAt: number;
  heartbeatAt: number;
  host: string;
  pid: number;
}

/** Who holds a named leadership (one per cluster), under a lease renewed by its holder. */
export interface LeaderParams {
  name: string;
  nodeId: string;
  now: number;
  ttlMs: number;
}

/** Leadership on a dedicated connection (Postgres advisory lock): held until released or the connection drops. */
export interface LeaderLock {
  /** Takes the lock if free, keeps it if held; false when someone else has it or the connection is gone. */
  tryAcquire(): Promise<boolean>;
  /** Gives the lock up if held and closes whatever tryAcquire opened (also on a node that never got it). */
  release(): Promise<void>;
}

export interface StoreCapabilities {
  /** An acknowledged insert survives a crash of the process. */
  durable: boolean;
  /** Other processes may share this store (so wake-ups and events must cross processes). */
  shared: boolean;
  /** Honours `orderingKey` (FIFO per key); the core refuses the field otherwise. */
  orderingKeys?: boolean;
}

/** Leases the named jobs of one queue (dispatch through a broker hands out ids, not rows). */
export interface JobClaimByIdsParams {
  queue: string;
  ids: readonly string[];
  /** Only jobs of these types; null takes any. */
  types: readonly string[] | null;
  now: number;
  leaseMs: number;
  /** As for jobClaim: fences the jobs and identifies the claim (a lost reply is undone with jobReleaseClaim). */
  leaseToken: string;
}

/** A job that became ready (pending), written in the same transaction as that change: the transactional outbox. */
export interface OutboxEntry {
  seq: number;
  jobId: string;
  queue: string;
  orderingKey: string | null;
}

/** Records of one partition of a topic, inserted as jobs exactly once: the partition's next offset moves in the same transaction. */
export interface IngestRecordsParams {
  /** Who reads (one position per consumer, topic and partition). */
  consumer: string;
  topic: string;
  partition: number;
  /** Each record's offset with its job; records below the stored position were ingested already and are skipped. */
  records: readonly { offset: number; job: NewJobRecord }[];
}

export interface IngestRecordsResult {
  /** Jobs inserted (in offset order); the other records had been ingested before. */
  inserted: NewJobRecord[];
  /** The stored position after the call: the next offset to ingest. */
  nextOffset: number;
}

/**
 * An API token as stored. The secret itself never is: only its SHA-256, so
 * a copy of the database grants nothing. Scopes are the HTTP layer's names
 * (http/auth/scopes.ts); the store keeps them as given.
 */
export interface ApiToken {
  id: string;
  /** Unique among tokens (a revoked token's name is taken again by the next insert of that name). */
  name: string;
  /** SHA-256 of the secret, lower-case hex. */
  hash: string;
  scopes: string[];
  /** The queues it may touch; null: every queue. */
  queues: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface Store {
  readonly capabilities: StoreCapabilities;

  /**
   * Inserts all records or none (unknown dependencies throw unknown_dependency).
   * Reports records deduplicated by their key, and those that start waiting (or failed/cancelled by a dependency).
   */
  jobInsertMany(params: JobInsertManyParams): Promise<InsertResult>;
  /**
   * Atomically moves up to `limit` ready jobs to processing under a lease,
   * due scheduled jobs included, within the queue's flow-control settings
   * (read in the same transaction): idle keys first, in turn, then the keys
   * that used the least lately (storage/flow-plan.ts).
   */
  jobClaim(params: JobClaimParams): Promise<ClaimedJobs>;
  /** Returns the ids whose lease was extended; the rest were lost. */
  jobExtendLeases(params: JobExtendLeasesParams): Promise<string[]>;
  /** Returns the jobs that were finished; the rest had lost their lease. */
  jobFinishMany(params: JobFinishManyParams): Promise<JobRef[]>;
  /** Back to pending without spending the attempt (graceful shutdown). Returns the jobs released. */
  jobReleaseMany(params: JobReleaseManyParams): Promise<JobRef[]>;
  /** Back to pending, attempt refunded, for every job still held under the token. */
  jobReleaseClaim(params: JobReleaseClaimParams): Promise<JobRef[]>;
  /** Null when the lease was lost. */
  jobSetProgress(params: JobSetProgressParams): Promise<JobRef | null>;
  /** Processing jobs whose lease expired at `now`, oldest expiry first. */
  jobExpiredLeases(params: JobExpiredLeasesParams): Promise<ExpiredLease[]>;
  jobGet(id: string): Promise<Job | null>;
  jobList(params: JobListParams): Promise<JobListPage>;
  /** To cancelled (finished now, lease cleared) if the job is in one of `from`; its waiting dependents follow their policy. */
  jobCancel(params: JobChangeParams): Promise<JobChangeResult>;
  /** The jobs `id` depends on, in the order given at enqueue. */
  jobDependencies(id: string): Promise<Job[]>;
  /**
   * Moves waiting jobs whose dependencies all ended but which were left
   * waiting (a crash or a race between nodes). Stores that move dependents
   * atomically in every case may do nothing. Run by the leader.
   */
  jobSweepDependencies?(params: { now: number; limit: number }): Promise<DependentChange[]>;
  /** To pending now with a fresh attempt budget (errors kept) if the job is in one of `from`. */
  jobRetry(params: JobChangeParams): Promise<JobChangeResult>;
  /** Deletes jobs of one queue and finished status that finished before the time; returns how many. */
  jobPrune(params: JobPruneParams): Promise<number>;
  /** Earliest runAt of a scheduled job in the queue, for the pool's wake-up timer. */
  jobNextRunAt(queue: string): Promise<number | null>;

  /** Records queues (idempotent), refusing to go beyond `maxQueues`. */
  queueRegister(params: QueueRegisterParams): Promise<void>;
  queueSetPaused(params: { name: string; paused: boolean; maxQueues: number; now: number }): Promise<void>;
  /** Replaces the queue's flow-control settings (registering it if new). */
  queueConfigure(params: { name: string; settings: QueueSettings; maxQueues: number; now: number }): Promise<void>;
  /** The queue's flow-control settings; null for a queue that does not exist. */
  queueSettings(name: string): Promise<QueueSettings | null>;
  /** Queues by name, a page at a time, with their counts. */
  queueList(params: QueueListParams): Promise<QueueInfo[]>;
  /** Names of every registered queue (bounded by maxQueues), for maintenance. */
  queueNames(): Promise<string[]>;

  /** Inserts or replaces a schedule (the core computed its next run). */
  scheduleUpsert(schedule: Schedule): Promise<void>;
  scheduleGet(name: string): Promise<Schedule | null>;
  /** By name, a page at a time. */
  scheduleList(params: { limit: number; after?: string }): Promise<Schedule[]>;
  /** True if it existed. */
  scheduleRemove(name: string): Promise<boolean>;
  /** Schedules not paused whose next run is due at `now`. */
  scheduleDue(params: { now: number; limit: number }): Promise<Schedule[]>;
  /** False when another node advanced it first. */
  scheduleAdvance(params: ScheduleAdvanceParams): Promise<boolean>;

  /** Announces this node (insert or refresh). */
  nodeHeartbeat(node: NodeInfo): Promise<void>;
  /** Nodes whose heartbeat is not older than `since`. */
  nodeList(params: { since: number }): Promise<NodeInfo[]>;
  nodeRemove(id: string): Promise<void>;

  /** A leadership lease: true if `nodeId` holds `name` until now + ttl after the call. */
  leaderTryAcquire(params: LeaderParams): Promise<boolean>;
  leaderRelease(params: { name: string; nodeId: string }): Promise<void>;
  /** Stores with a better mechanism (a lock that ends with its connection) offer it here. */
  leaderLock?(name: string): LeaderLock;

  /** Throws store_unavailable unless the store can read and write right now. */
  ping(): Promise<void>;

  /**
   * Inserts inside the caller's own open transaction (`tx` is the backend's
   * client, e.g. a `pg` client): the jobs exist if and only if it commits.
   */
  jobInsertManyWith?(tx: unknown, params: JobInsertManyParams): Promise<InsertResult>;
  /** Finishes leased jobs inside the caller's own transaction; returns those whose lease was still held. */
  jobFinishWith?(tx: unknown, params: JobFinishManyParams): Promise<JobRef[]>;

  /**
   * Calls `onChange` soon after another process may have committed work
   * (with the queues concerned when the store knows them). Shared stores only.
   */
  watchChanges?(onChange: (queues?: readonly string[]) => void): () => void;

  /**
   * Carries events to other processes. Cheap when nobody listens: a store
   * publishes only while some other process subscribes. Best effort: a crash
   * between a transition and its publication loses that event.
   */
  publishEvents?(nodeId: string, events: readonly JobEvent[]): void;
  /** Whether some process other than `nodeId` subscribes right now (a cached flag, cheap to ask). */
  remoteSubscribers?(nodeId: string): boolean;
  /** Delivers other processes' events (batches, in their commit order per job). */
  subscribeEvents?(nodeId: string, onEvents: (events: readonly JobEvent[]) => void): () => void;

  /**
   * Broker dispatch (jobq/kafka), all optional. Leases the named jobs that
   * are pending, of a queue neither paused nor flow-controlled, and not held
   * back by an earlier unfinished job of their ordering key; the others are
   * left as they are (a cancelled or already claimed job is skipped).
   */
  jobClaimByIds?(params: JobClaimByIdsParams): Promise<LeasedJob[]>;
  /** From now on every change that makes a job pending writes an outbox entry in its own transaction (idempotent; cluster-wide). */
  outboxEnable?(): Promise<void>;
  /**
   * The oldest outbox entries, in the order they were written: about `limit`
   * (entries written by one statement come together, so there may be more).
   * Entries written together share a `seq`. The entries of `published` (seqs
   * already sent) are removed first, in the same round trip, and are never
   * among those returned.
   */
  outboxRead?(params: { limit: number; published?: readonly number[] }): Promise<OutboxEntry[]>;
  /** Removes published entries. */
  outboxDelete?(params: { seqs: readonly number[] }): Promise<void>;
  /** Makes due scheduled jobs of these queues pending (so their outbox entries are written); returns how many. */
  jobPromoteDue?(params: { queues: readonly string[]; now: number; limit: number }): Promise<number>;
  /** Earliest run time of a scheduled job in any of these queues. */
  jobNextDue?(params: { queues: readonly string[] }): Promise<number | null>;
  /** Inserts a partition's records as jobs, exactly once (topic ingest). */
  ingestRecords?(params: IngestRecordsParams): Promise<IngestRecordsResult>;

  /**
   * API tokens. Insert stores a new one (replacing a revoked token of the
   * same name); `conflict` when a live token has its name, or any token its hash.
   */
  tokenInsert(token: ApiToken): Promise<void>;
  /** Tokens by name; revoked ones only with `includeRevoked`. */
  tokenList(params: { includeRevoked: boolean }): Promise<ApiToken[]>;
  /** Revokes the live token of that name at `now` and returns it; null when there is none. */
  tokenRevoke(params: { name: string; now: number }): Promise<ApiToken | null>;
  /** Records uses of tokens (the caller batches them); lastUsedAt only moves forward. */
  tokenTouch(params: { ids: readonly string[]; now: number }): Promise<void>;

  /** Idempotent: a second call waits for the first. */
  close(): Promise<void>;
}

export function emptyCounts(): StatusCounts {
  return { waiting: 0, scheduled: 0, pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
}
