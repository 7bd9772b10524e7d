/**
 * The library's front door. It wires the parts (enqueuer, lease API, worker
 * pool, event bus, maintenance services) and offers them as one object; the
 * HTTP app and the CLI are thin layers over it.
 */
import type { Logger } from 'pino';
import { JobqError } from '../contracts/errors.js';
import type { FinishedStatus, Job, JobStatus, LeasedJob, LeaseRef } from '../contracts/job.js';
import type { ClaimedJobs, JobListPage, Store } from '../contracts/store.js';
import type { Clock } from './clock.js';
import type { EnqueueInput, EnqueueInputOf, TypedEnqueueInput } from './enqueue-input.js';
import type { Enqueuer, EnqueuedJob, EnqueuedShort } from './enqueuer.js';
import type { EventBus } from './events/event-bus.js';
import type { DefaultJobTypes, Handler, JobTypes } from './handler.js';
import type { ClaimRequest, FailOptions, LeaseApi } from './leases/lease-api.js';
import { flattenFlow, type FlowInput, type FlowNode } from './flow.js';
import type { ScheduleApi, ScheduleInput } from './schedules/schedule-api.js';
import { assembleNode } from './node-parts.js';
import type { JobOperations } from './operations.js';
import type { QueueApi } from './queue-api.js';
import { resolveOptions, type JobqOptions, type ResolvedOptions, type RetentionOptions } from './options.js';
import type { Leadership } from './services/leadership.js';
import type { NodeRegistry } from './services/node-registry.js';
import type { Service } from './services/service.js';
import type { StoreHealth } from './services/store-health.js';
import type { Dispatch } from './worker/claim-source.js';
import { RunHooks, type RunWrapper } from './worker/run-hooks.js';
import type { WorkerPool } from './worker/worker-pool.js';
import { waitForJob } from './wait-for.js';
import { toJobListParams, type ListJobsParams } from './job-list.js';
import { pruneFinished } from './services/pruner.js';

export type { ListJobsParams } from './job-list.js';

/**
 * `T` maps job type names to payload types (see `JobTypes`):
 * `new Jobq<{ email: EmailPayload }>({ … })` checks enqueues and types handlers.
 */
export class Jobq<T extends JobTypes = DefaultJobTypes> {
  readonly options: ResolvedOptions;
  readonly store: Store;
  /** This process in the cluster (node registry, leadership, events). */
  readonly nodeId: string;
  /** Every transition of this node (and, with a shared store, of the others). */
  readonly events: EventBus;
  /** Whether the store can serve; /readyz reports it. */
  readonly health: StoreHealth;
  /** Cron schedules: upsert, get, list, remove, setPaused. The leader enqueues their slots. */
  readonly schedules: ScheduleApi;
  /** Queues: list, settings, configure (cluster-wide flow control), pause, resume. */
  readonly queues: QueueApi;
  private readonly declaredSchedules: readonly ScheduleInput[];
  private readonly runHooks = new RunHooks();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leases: LeaseApi;
  private readonly enqueuer: Enqueuer;
  private readonly pool: WorkerPool | null;
  private readonly dispatch: Dispatch | null;
  private readonly registry: NodeRegistry;
  private readonly leadership: Leadership;
  private readonly services: Service[];
  private readonly operations: JobOperations;
  private unwatch: (() => void) | null = null;
  private started = false;
  private stopping: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: JobqOptions<T>) {
    const parts = assembleNode(options, this.runHooks);
    ({ options: this.options, store: this.store, nodeId: this.nodeId, events: this.events, health: this.health, schedules: this.schedules, queues: this.queues } = parts);
    ({ clock: this.clock, logger: this.logger, leases: this.leases, enqueuer: this.enqueuer, pool: this.pool, dispatch: this.dispatch } = parts);
    ({ registry: this.registry, leadership: this.leadership, services: this.services, operations: this.operations } = parts);
    this.declaredSchedules = options.schedules ?? [];
  }

  /** Registers (or replaces) the handler for a job type. Register before start(): claims ask for the types known then. */
  register<K extends keyof T & string>(type: K, handler: Handler<T[K]>): void {
    this.options.handlers[type] = handler;
  }

  /**
   * Wraps every handler run of this Jobq from now on, whenever its handler
   * was registered: `wrapper(job, run)` calls `run()` once and returns what it
   * resolves to (what it returns is the attempt's result; a throw fails the
   * attempt). Wrappers compose, the first added outermost, inside tracing's
   * span. Returns the function that removes it.
   */
  onRun(wrapper: RunWrapper): () => void {
    return this.runHooks.add(wrapper);
  }

  /** Enqueues one job; resolves once it is committed (with the holder instead, `deduplicated: true`, when its key is held). */
  enqueue<K extends keyof T & string>(input: TypedEnqueueInput<T, K>): Promise<EnqueuedJob<T[K]>> {
    return this.enqueueMany<K>([input] as readonly EnqueueInputOf<Pick<T, K>>[]).then(first);
  }

  /**
   * Enqueues up to `limits.maxBatchSize` jobs in one transaction; all or none.
   * Not an async function, nor is enqueue: each async layer on this path cost
   * a promise and its ticks per call (measured with 50 concurrent callers).
   */
  enqueueMany<K extends keyof T & string = keyof T & string>(inputs: readonly EnqueueInputOf<Pick<T, K>>[]): Promise<EnqueuedJob<T[K]>[]> {
    if (this.closing) return Promise.reject(shuttingDown());
    return this.observe(this.enqueuer.enqueueMany(inputs as readonly EnqueueInput<T[K]>[]));
  }

  /**
   * enqueueMany answered in short, `{ id, queue, type, status, runAt,
   * deduplicated }` per job, for producers that only need the ids (the HTTP
   * bulk answer): no whole job is built per enqueued job.
   */
  enqueueManyShort<K extends keyof T & string = keyof T & string>(inputs: readonly EnqueueInputOf<Pick<T, K>>[]): Promise<EnqueuedShort[]> {
    if (this.closing) return Promise.reject(shuttingDown());
    return this.observe(this.enqueuer.enqueueShort(inputs as readonly EnqueueInput[]));
  }

  /**
   * Enqueues inside the caller's own transaction (Postgres: pass your `pg`
   * client with an open BEGIN): the jobs exist if and only if it commits.
   * Workers everywhere are woken by the store's notification at commit.
   */
  async enqueueInTransaction<K extends keyof T & string = keyof T & string>(
    tx: unknown,
    inputs: EnqueueInputOf<Pick<T, K>> | readonly EnqueueInputOf<Pick<T, K>>[],
  ): Promise<EnqueuedJob<T[K]>[]> {
    this.assertAccepting();
    return this.observe(this.enqueuer.enqueueWith(tx, (Array.isArray(inputs) ? inputs : [inputs]) as readonly EnqueueInput<T[K]>[]));
  }

  /** A parent job and its children (and theirs), in one transaction: the parent waits until every child completed. */
  async flow<P>(flow: FlowInput<P>): Promise<FlowNode<EnqueuedJob>> {
    this.assertAccepting();
    const { inputs, rebuild } = flattenFlow(flow as FlowInput);
    return rebuild(await this.observe(this.enqueuer.enqueueMany(inputs)));
  }

  async get(id: string): Promise<Job | null> {
    return this.observe(this.store.jobGet(id));
  }

  /** One page of jobs; see JobListParams for the order of each filter. */
  async list(params: ListJobsParams = {}): Promise<JobListPage> {
    return this.observe(this.store.jobList(toJobListParams(params, this.options.limits)));
  }

  /** Cancels a scheduled, pending or processing job (a running handler's signal fires). */
  cancel(id: string): Promise<Job> {
    return this.observe(this.operations.cancel(id));
  }

  /** Puts a failed or cancelled job back in line with a fresh attempt budget. */
  retry(id: string): Promise<Job> {
    return this.observe(this.operations.retry(id));
  }

  /** The jobs `id` depends on (its handler reads their results through ctx.dependencies()). */
  dependencies(id: string): Promise<Job[]> {
    return this.observe(this.store.jobDependencies(id));
  }

  /**
   * Deletes finished jobs past their retention now (the leader does it every
   * pruneIntervalMs anyway): `retention` overrides the node's, `queue` narrows it.
   */
  prune(params: { retention?: RetentionOptions; queue?: string } = {}): Promise<Record<FinishedStatus, number>> {
    const retention = resolveOptions({ store: this.store, retention: params.retention ?? this.options.retention }).retention;
    return this.observe(pruneFinished(this.store, this.clock.now(), retention, params.queue === undefined ? {} : { queue: params.queue }));
  }

  /** Leases up to `max` ready jobs (the same call the worker pool makes). */
  async claim(req: ClaimRequest): Promise<LeasedJob[]> {
    // A plain array: the store's hints (claimWithHints) are not part of the answer, and deepEqual against one would fail.
    return [...(await this.claimWithHints(req))];
  }

  /**
   * claim, with what a caller that waits for work needs beside the jobs:
   * `limited` (a cluster-wide limit held jobs back), `wakeAt` (when it may let
   * the next start) and `nextRunAt` (when the queue's next scheduled job falls
   * due; null: none; absent: not read).
   */
  claimWithHints(req: ClaimRequest): Promise<ClaimedJobs> {
    return this.observe(this.leases.claim(req));
  }

  /** Extends leases; returns the ids still held. */
  extend(leases: readonly LeaseRef[], leaseMs?: number): Promise<string[]> {
    return this.observe(this.leases.extend(leases, leaseMs));
  }

  complete(lease: LeaseRef, result?: unknown): Promise<boolean> {
    return this.observe(this.leases.complete(lease, result));
  }

  fail(lease: LeaseRef, error: unknown, options?: FailOptions): Promise<{ applied: boolean; status: JobStatus | null }> {
    return this.observe(this.leases.fail(lease, error, options));
  }

  release(leases: readonly LeaseRef[]): Promise<string[]> {
    return this.observe(this.leases.release(leases));
  }

  setProgress(lease: LeaseRef, progress: number): Promise<boolean> {
    return this.observe(this.leases.setProgress(lease, progress));
  }

  /** Completes a job inside your own transaction (Postgres), so your writes and the completion commit together. */
  completeInTransaction(tx: unknown, lease: LeaseRef, result?: unknown): Promise<boolean> {
    return this.leases.completeInTransaction(tx, lease, result);
  }

  /** Resolves with the job once it is completed, failed or cancelled; rejects with `timeout` after `timeoutMs`. */
  waitFor(id: string, options: { timeoutMs?: number } = {}): Promise<Job> {
    return waitForJob(this, id, options.timeoutMs ?? 60_000, this.clock);
  }

  /**
   * Starts the maintenance services and, if this node works queues, the
   * workers. Schedules given in the options are upserted first (unchanged
   * ones keep their next and last run); resolves once they are.
   */
  async start(): Promise<void> {
    if (this.stopping) throw new JobqError('shutting_down', 'jobq is stopping; it cannot start again');
    if (this.started) return;
    this.started = true;
    for (const s of this.declaredSchedules) await this.observe(this.schedules.upsert(s));
    if (this.dispatch) {
      try {
        await this.dispatch.start();
      } catch (err) {
        this.started = false;
        throw err;
      }
    }
    for (const s of this.services) s.start();
    if (this.pool) {
      const pool = this.pool;
      if (this.store.watchChanges && !this.dispatch?.watchesChanges) this.unwatch = this.store.watchChanges((queues) => pool.notify(queues));
      pool.start();
    }
  }

  /** @deprecated use start(). */
  startWorkers(): void {
    void this.start().catch((err: unknown) => this.logger.error({ err }, 'could not start'));
  }

  get runningJobs(): number {
    return this.pool?.running.size ?? 0;
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  /**
   * Graceful stop: no new claims, running jobs get `shutdownTimeoutMs` to
   * finish, the rest go back to pending without spending an attempt, pending
   * writes are flushed, services stop. Idempotent. Enqueues are still taken
   * (an HTTP server may be finishing its requests) until close().
   */
  stop(graceMs = this.options.shutdownTimeoutMs): Promise<void> {
    this.stopping ??= (async () => {
      this.unwatch?.();
      await this.pool?.stop(graceMs);
      await this.leases.drain();
      await this.dispatch?.stop();
      await this.enqueuer.drain();
      await Promise.all(this.services.filter((s) => s !== this.registry.service).map((s) => s.stop()));
      await this.registry.leave();
    })();
    return this.stopping;
  }

  /** stop(), then closes the store. Idempotent. */
  close(graceMs?: number): Promise<void> {
    this.closing ??= (async () => {
      await this.stop(graceMs);
      await this.enqueuer.drain();
      this.events.close();
      await this.store.close();
    })();
    return this.closing;
  }

  /** Lets the health monitor see store failures wherever they happen. */
  private observe<T>(p: Promise<T>): Promise<T> {
    // A catch rather than an async wrapper: one promise less on every call (enqueue's hot path).
    return p.catch((err: unknown) => {
      this.health.observe(err);
      throw err;
    });
  }

  private assertAccepting(): void {
    if (this.closing) throw shuttingDown();
  }
}

const shuttingDown = () => new JobqError('shutting_down', 'jobq is shutting down');
const first = <J>(jobs: J[]): J => jobs[0]!;

