/**
 * The worker side of a node, assembled from its parts: a dispatch loop per
 * queue claims from a claim source, the executor runs handlers, the lease
 * keeper heartbeats, and outcomes are written through the lease API (group
 * committed). On stop it drains, then releases what is still running.
 */
import type { Logger } from 'pino';
import type { Job, JobStatus, LeasedJob } from '../../contracts/job.js';
import type { Clock } from '../clock.js';
import type { AbortReason, HandlerMap } from '../handler.js';
import type { LeaseApi, QueuedFinish } from '../leases/lease-api.js';
import { failureOutcome, successOutcome, type RetryDelay } from '../lifecycle.js';
import type { ClaimSource } from './claim-source.js';
import { DispatchLoop } from './dispatch-loop.js';
import { Executor } from './executor.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { RunHooks } from './run-hooks.js';
import { abortRun } from './job-context.js';
import { RunningJobs, type RunningJob } from './running-jobs.js';

export interface WorkerPoolDeps {
  leases: LeaseApi;
  source: ClaimSource;
  handlers: HandlerMap;
  /** The Jobq's wrappers around each handler run. */
  hooks: RunHooks;
  queues: Readonly<Record<string, { concurrency: number; prefetch: number | 'auto' }>>;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  heartbeatIntervalMs: number;
  pollIntervalMs: number;
  maxResultBytes: number;
  retryDelay: RetryDelay;
  dependencies(id: string): Promise<Job[]>;
}

/** A job's outcome on its way to the store, with the job it came from. */
interface PoolFinish extends QueuedFinish {
  leased: LeasedJob;
}

export class WorkerPool {
  readonly running = new RunningJobs();
  private readonly loops = new Map<string, DispatchLoop>();
  private readonly executor: Executor;
  private readonly keeper: LeaseKeeper;
  private readonly writes = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;
  private started = false;

  constructor(private readonly deps: WorkerPoolDeps) {
    this.executor = new Executor({
      handlers: deps.handlers,
      hooks: deps.hooks,
      running: this.running,
      clock: deps.clock,
      logger: deps.logger,
      settled: (rj, ok, value) => this.settled(rj, ok, value),
      progress: async (rj, value) => {
        await this.track(deps.leases.setProgress(rj.job, value));
      },
      dependencies: (id) => deps.dependencies(id),
      abandoned: (stale) => this.leaseLost(stale.job),
    });
    this.keeper = new LeaseKeeper({
      leases: deps.leases,
      running: this.running,
      clock: deps.clock,
      logger: deps.logger,
      leaseMs: deps.leaseMs,
      intervalMs: deps.heartbeatIntervalMs,
      lost: (rj) => {
        if (this.giveUp(rj, 'lease_lost')) this.leaseLost(rj.job);
      },
      waiting: () => [...this.loops.values()].flatMap((loop) => loop.waitingJobs),
      lostWaiting: (job) => {
        if (!this.loops.get(job.queue)?.dropWaiting(job.id)) return;
        this.deps.source.done?.(job);
        this.leaseLost(job);
      },
    });
    // Handlers may be registered until start(); the list is fixed then.
    let types: string[] | null = null;
    const typesNow = () => (types ??= Object.keys(deps.handlers).sort());
    for (const [name, q] of Object.entries(deps.queues)) {
      this.loops.set(
        name,
        new DispatchLoop(name, q.concurrency, {
          source: deps.source,
          running: this.running,
          clock: deps.clock,
          logger: deps.logger,
          leaseMs: deps.leaseMs,
          pollIntervalMs: deps.pollIntervalMs,
          types: typesNow,
          run: (job) => this.executor.run(job),
          prefetch: q.prefetch === 'auto' ? null : q.prefetch,
          giveBack: (jobs) => void this.release(jobs),
        }),
      );
    }
  }

  get queueNames(): string[] {
    return [...this.loops.keys()];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const loop of this.loops.values()) loop.start();
    this.keeper.start();
  }

  /** Jobs may have arrived in these queues (or in any when omitted). */
  notify(queues?: readonly string[]): void {
    if (queues === undefined) for (const loop of this.loops.values()) loop.notify();
    else for (const q of queues) this.loops.get(q)?.notify();
  }

  /** Jobs that may now be claimed: wake the loops of their queues (or arm their due timers). */
  ready(jobs: readonly { queue: string; type: string; status: JobStatus; runAt: number }[]): void {
    let last = '';
    for (const j of jobs) {
      // Nodes with a handler for it claim it: a wake-up here would be a claim (a write transaction) that finds nothing.
      if (!Object.hasOwn(this.deps.handlers, j.type)) continue;
      if (j.status === 'scheduled' && j.runAt > 0) this.scheduledAt(j.queue, j.runAt);
      else if ((j.status === 'pending' || j.status === 'scheduled') && j.queue !== last) this.notify([j.queue]);
      last = j.queue;
    }
  }

  /** A job of `queue` falls due at `runAt`. */
  scheduledAt(queue: string, runAt: number): void {
    this.loops.get(queue)?.scheduledAt(runAt);
  }

  /** Extends every running lease now (the rescuer calls this first). */
  extendLeasesNow(): Promise<void> {
    return this.keeper.extendNow();
  }

  /** Stops a locally running job whose row was changed elsewhere (e.g. cancelled); its result is discarded. */
  abortLocal(id: string, reason: AbortReason): void {
    const rj = this.running.get(id);
    if (rj) this.giveUp(rj, reason);
    else this.dropWaiting(id);
  }

  /** A job claimed ahead whose row changed elsewhere never starts. */
  private dropWaiting(id: string): void {
    for (const loop of this.loops.values()) {
      const job = loop.dropWaiting(id);
      if (job) return void this.deps.source.done?.(job);
    }
  }

  /** Frees the slot; the row is left to whoever changed it (cancel, rescuer) or to release on shutdown. False if it was already given back. */
  private giveUp(rj: RunningJob, reason: AbortReason): boolean {
    if (!this.running.remove(rj)) return false;
    this.loops.get(rj.job.queue)?.slotFreed();
    abortRun(rj, reason);
    this.deps.source.done?.(rj.job);
    this.deps.logger.warn({ jobId: rj.job.id, queue: rj.job.queue, type: rj.job.type, attempt: rj.job.attempts, reason }, 'job abandoned; its result will be discarded');
    return true;
  }

  /** This node found a lease of its own lost (heartbeat, refused finish or release, a stale attempt): the event, off the slot's path. */
  private leaseLost(job: LeasedJob): void {
    void this.track(this.deps.leases.lost(job));
  }

  private settled(rj: RunningJob, ok: boolean, value: unknown): void {
    const { job } = rj;
    const loop = this.loops.get(job.queue);
    loop?.ran(performance.now() - rj.startedAt);
    loop?.slotFreed();
    const now = this.deps.clock.now();
    const outcome = ok ? successOutcome(value, job, now, this.deps.maxResultBytes) : failureOutcome(value, job, now, this.deps.retryDelay);
    this.deps.leases.finishQueued<PoolFinish>({ id: job.id, leaseToken: job.leaseToken, outcome, attempt: job.attempts, leased: job, done: this.recorded });
  }

  /**
   * A finished job's outcome was written, refused (lease lost) or failed to
   * write: logs what became of it; never throws. One function for every job,
   * told by the lease API's group commit. As an async call awaiting each
   * job's own promise, every job kept a suspended call and five promises
   * alive until its batch committed: in a Postgres drain at concurrency 50,
   * 915 of the 2,911 bytes per job that outlived V8's young-generation
   * collections (sampling heap profiler), the largest share.
   */
  private readonly recorded = (req: PoolFinish, applied: boolean, err: unknown): void => {
    const { leased: job, outcome } = req;
    const log = this.deps.logger;
    try {
      if (err !== undefined) {
        log.error({ err, jobId: job.id }, 'could not record the job outcome; the lease will expire and the job run again');
        return;
      }
      this.loops.get(job.queue)?.finishCommitted();
      if (!applied) {
        log.warn(this.where(job), 'lease lost before the job finished; outcome discarded');
        this.leaseLost(job);
      } else if (outcome.kind === 'throttled') {
        log.warn({ ...this.where(job), runAt: new Date(outcome.runAt).toISOString(), key: outcome.holdKey }, 'throttled by the remote side; back in line, attempt not spent');
        this.scheduledAt(job.queue, outcome.runAt);
      } else if (outcome.kind === 'retry') {
        log.warn({ ...this.where(job), runAt: new Date(outcome.runAt).toISOString(), err: outcome.error.message }, 'job failed; retry scheduled');
        this.scheduledAt(job.queue, outcome.runAt);
      } else if (outcome.kind === 'failed') log.warn({ ...this.where(job), err: outcome.error.message }, 'job failed for good');
      else if (log.isLevelEnabled('debug')) log.debug(this.where(job), 'job completed');
    } catch (e) {
      log.error({ err: e }, 'store write failed');
    } finally {
      this.deps.source.done?.(job);
    }
  };

  private where(job: LeasedJob) {
    return { jobId: job.id, queue: job.queue, type: job.type, attempt: job.attempts };
  }

  /** Back to pending, attempt unspent, for any node to take; returns how many were still held. */
  private async release(jobs: readonly LeasedJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const released = await this.track(this.deps.leases.release(jobs));
    for (const job of jobs) this.deps.source.done?.(job);
    const held = new Set(released);
    if (released) for (const job of jobs) if (!held.has(job.id)) this.leaseLost(job);
    return released?.length ?? 0;
  }

  private track<T>(p: Promise<T>): Promise<T | undefined> {
    const guarded = p.catch((err: unknown) => {
      this.deps.logger.error({ err }, 'store write failed');
      return undefined;
    });
    // Held until it settles (it never rejects): stop() waits for every one.
    this.writes.add(guarded);
    void guarded.then(() => this.writes.delete(guarded));
    return guarded;
  }

  /**
   * Stops claiming, gives running jobs `graceMs` to finish, releases the rest
   * back to pending without spending their attempt, and writes every outcome.
   * Calling it again returns the same promise.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.drainAndRelease(graceMs);
    return this.stopping;
  }

  private async drainAndRelease(graceMs: number): Promise<void> {
    const unstarted: LeasedJob[] = [];
    for (const loop of this.loops.values()) unstarted.push(...loop.stop());
    // Claimed ahead and never started: back to pending now, not after the drain.
    const releasing = this.release(unstarted);
    if (this.running.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.deps.clock.setTimer(resolve, graceMs);
        void this.running.whenIdle().then(() => {
          timer.cancel();
          resolve();
        });
      });
    }
    this.keeper.stop();
    const leftover = this.running.list();
    for (const rj of leftover) {
      this.running.remove(rj);
      abortRun(rj, 'shutdown');
    }
    if (leftover.length > 0) {
      const released = await this.release(leftover.map((rj) => rj.job));
      this.deps.logger.info({ released }, 'released unfinished jobs back to pending');
    }
    await releasing;
    await this.deps.leases.drain();
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }
}
