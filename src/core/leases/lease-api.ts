/**
 * The lease protocol, one implementation for every caller: the in-process
 * worker pool, the public `Jobq` methods, and (through them) remote workers.
 * Every call is fenced by the lease token; every transition it makes emits
 * its event after the store confirmed it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isRateLimited, JobqError } from '../../contracts/errors.js';
import type { JobEvent, JobEventKind } from '../../contracts/events.js';
import type { Job, JobStatus, LeasedJob, LeaseRef } from '../../contracts/job.js';
import type { ClaimedJobs, JobOutcome, JobRef, Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import { failureOutcome, retryAt, successOutcome, toJobError, type RetryDelay } from '../lifecycle.js';
import { Finisher, type Finished, type FinishRequest } from './finisher.js';

export interface ClaimRequest {
  queue: string;
  /** Most jobs to take. */
  max: number;
  /** Only these job types; null or absent takes any. */
  types?: readonly string[] | null;
  /** @defaultValue the Jobq's leaseMs */
  leaseMs?: number;
}

export interface FailOptions {
  /** False fails the job for good. @defaultValue true */
  retryable?: boolean;
  /** Run again after this long instead of the retry policy's backoff. */
  retryAfterMs?: number;
}

export interface LeaseApiDeps {
  store: Store;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  leaseMs: number;
  maxResultBytes: number;
  maxCommitBatch: number;
  retryDelay: RetryDelay;
  /** Waiting jobs a transition made ready: wake the loops that can claim them. */
  ready(jobs: readonly { queue: string; type: string; status: JobStatus; runAt: number }[]): void;
}

export function event(kind: JobEventKind, ref: JobRef, status: JobStatus, at: number, extra?: Partial<JobEvent>): JobEvent {
  // A literal without a spread: every enqueued, started and finished job makes one while anyone listens.
  const e: JobEvent = { kind, jobId: ref.id, queue: ref.queue, type: ref.type, attempt: ref.attempts, status, at };
  return extra === undefined ? e : Object.assign(e, extra);
}

/**
 * The `started` events of a claim. Each carries when its job became due, so
 * any node watching the events (the live view) can tell its wait without a
 * read: the claim's rows are at hand here.
 */
export function startedEvents(jobs: readonly LeasedJob[], at: number): JobEvent[] {
  return jobs.map((j) => ({ kind: 'started', jobId: j.id, queue: j.queue, type: j.type, attempt: j.attempts, status: 'processing', at, dueAt: Math.max(j.runAt, j.createdAt) }));
}

/** Events for the waiting jobs a transition moved: ready, or failed / cancelled by their policy. */
export function dependentEvents(ref: JobRef, at: number): JobEvent[] {
  return (ref.dependents ?? []).map((d) =>
    d.status === 'pending' || d.status === 'scheduled'
      ? event('ready', d, d.status, at)
      : event(d.status, d, d.status, at, d.status === 'failed' ? { error: `dependency ${d.dependency} ended` } : {}),
  );
}

export function outcomeEvent(ref: JobRef, outcome: JobOutcome, at: number): JobEvent {
  if (outcome.kind === 'completed') return event('completed', ref, 'completed', at);
  if (outcome.kind === 'failed') return event('failed', ref, 'failed', at, { error: outcome.error.message });
  if (outcome.kind === 'throttled') return event('throttled', { ...ref, attempts: ref.attempts }, outcome.status, at, { runAt: outcome.runAt });
  return event('retrying', ref, outcome.status, at, { runAt: outcome.runAt, error: outcome.error.message });
}

/** A finish handed to finishQueued(), carrying who to tell. */
export interface QueuedFinish extends FinishRequest {
  /** Called once, never throwing; `err` set when the write failed (then `applied` is false). */
  done: (req: this, applied: boolean, err: unknown) => void;
}

export class LeaseApi {
  private readonly finisher: Finisher;
  /** Tokens of claims whose reply never came: whatever they took goes back, unspent, as soon as the store answers. */
  private readonly lostClaims = new Set<string>();

  constructor(private readonly deps: LeaseApiDeps) {
    this.finisher = new Finisher(deps.store, deps.clock, deps.maxCommitBatch, (req, err) =>
      deps.logger.warn({ jobId: req.id, err: errorSummary(err) }, 'the database refused a job outcome; recording the job as failed instead'),
    );
  }

  async claim(req: ClaimRequest): Promise<ClaimedJobs> {
    if (this.lostClaims.size > 0) await this.releaseLostClaims();
    const leaseToken = randomUUID();
    const now = this.deps.clock.now();
    let jobs: ClaimedJobs;
    try {
      jobs = await this.deps.store.jobClaim({ queue: req.queue, types: req.types ?? null, limit: req.max, now, leaseMs: req.leaseMs ?? this.deps.leaseMs, leaseToken });
    } catch (err) {
      // The claim may have committed with its reply lost: remember its token to give the jobs back.
      this.lostClaims.add(leaseToken);
      throw err;
    }
    if (jobs.length > 0 && this.deps.events.wanted) this.deps.events.emit(startedEvents(jobs, now));
    return jobs;
  }

  /**
   * A worker of this node found the lease of `job` gone while it held it (a
   * heartbeat answered without it, its finish refused): emits `lease_lost`
   * with the status the job has now. One read per loss, and only while
   * someone listens; losses are rare (a stall past the lease, a rescue). A
   * job cancelled meanwhile is not a loss (its `cancelled` says what
   * happened), nor is a job deleted since (nothing to tell about).
   */
  async lost(job: LeasedJob): Promise<void> {
    if (!this.deps.events.wanted) return;
    let current: Job | null;
    try {
      current = await this.deps.store.jobGet(job.id);
    } catch (err) {
      this.deps.logger.debug({ jobId: job.id, err: errorSummary(err) }, 'could not read a job whose lease was lost; no lease_lost event');
      return;
    }
    if (!current || current.status === 'cancelled') return;
    this.deps.events.emit([event('lease_lost', job, current.status, this.deps.clock.now())]);
  }

  private async releaseLostClaims(): Promise<void> {
    for (const leaseToken of [...this.lostClaims]) {
      const now = this.deps.clock.now();
      const released = await this.deps.store.jobReleaseClaim({ leaseToken, now });
      this.lostClaims.delete(leaseToken);
      if (released.length > 0) {
        this.deps.logger.warn({ count: released.length }, 'gave back jobs taken by a claim whose reply was lost (no attempt spent)');
        this.deps.events.emit(released.map((r) => event('released', r, 'pending', now)));
      }
    }
  }

  /** Returns the ids whose lease was extended; the others were lost. */
  async extend(leases: readonly LeaseRef[], leaseMs = this.deps.leaseMs): Promise<string[]> {
    if (leases.length === 0) return [];
    return this.deps.store.jobExtendLeases({ leases, now: this.deps.clock.now(), leaseMs });
  }

  /** Writes an outcome the core decided (group-committed); false when the lease was lost. */
  async finish(ref: JobRef & LeaseRef, outcome: JobOutcome): Promise<boolean> {
    const req: FinishRequest = { id: ref.id, leaseToken: ref.leaseToken, outcome, attempt: ref.attempts, leased: ref };
    return this.announced(await this.finisher.finish(req));
  }

  /**
   * As finish(), for the worker pool's every job: `req.done` is told once it
   * is written (`applied`: the lease still held) or failed (`err`), after
   * its events. Nothing per job waits on a promise meanwhile (see
   * GroupCommitter.addOne).
   */
  finishQueued<Q extends QueuedFinish>(req: Q): void {
    this.finisher.finishThen(req, this.queuedWritten);
  }

  /** One function for every queued finish, not a closure each. */
  private readonly queuedWritten = (req: QueuedFinish, written: Finished | null | undefined, err: unknown): void => {
    try {
      this.announced(written);
    } catch (e) {
      // Written all the same; the rest of the batch must still be told.
      this.deps.logger.error({ err: e, jobId: req.id }, 'a finished job could not announce its events');
    }
    req.done(req, written != null, err);
  };

  /** After a finish that was written: its event, then its dependents' (and a wake-up for those now ready). False when nothing was written (the lease was lost). */
  private announced(written: Finished | null | undefined): boolean {
    if (!written) return false;
    const { ref, outcome } = written;
    const now = this.deps.clock.now();
    if (this.deps.events.wanted) this.deps.events.emit([outcomeEvent(ref, outcome, now), ...dependentEvents(ref, now)]);
    if (ref.dependents) this.readyDependents(ref);
    return true;
  }

  readyDependents(ref: JobRef): void {
    const ready = (ref.dependents ?? []).filter((d) => d.status === 'pending' || d.status === 'scheduled');
    // A dependent made scheduled runs at its own runAt, which the loop's due timer finds by itself.
    if (ready.length > 0) this.deps.ready(ready.map((d) => ({ queue: d.queue, type: d.type, status: d.status, runAt: 0 })));
  }

  /** Completes a leased job with its result. False when the lease was lost. */
  async complete(lease: LeaseRef, result?: unknown): Promise<boolean> {
    const now = this.deps.clock.now();
    const outcome = successOutcome(result, { attempts: 0 } as LeasedJob, now, this.deps.maxResultBytes);
    return this.announced(await this.finisher.finish({ ...lease, outcome, attempt: 0 }));
  }

  /** Fails an attempt: retried with backoff (or after `retryAfterMs`) while attempts remain, unless not retryable. */
  async fail(lease: LeaseRef, error: unknown, options: FailOptions = {}): Promise<{ applied: boolean; status: JobStatus | null }> {
    const job = await this.deps.store.jobGet(lease.id);
    if (!job || job.status !== 'processing') return { applied: false, status: job?.status ?? null };
    const now = this.deps.clock.now();
    let outcome: JobOutcome;
    if (isRateLimited(error)) outcome = failureOutcome(error, job, now, this.deps.retryDelay);
    else
    if (options.retryable === false) outcome = { kind: 'failed', error: toJobError(error, job.attempts, now) };
    else if (options.retryAfterMs !== undefined && job.attempts < job.maxAttempts) outcome = retryAt(now + options.retryAfterMs, toJobError(error, job.attempts, now), now);
    else outcome = failureOutcome(error, job, now, this.deps.retryDelay);
    const applied = await this.finish({ id: job.id, queue: job.queue, type: job.type, attempts: job.attempts, leaseToken: lease.leaseToken }, outcome);
    return { applied, status: applied ? (outcome.kind === 'retry' || outcome.kind === 'throttled' ? outcome.status : outcome.kind) : null };
  }

  /** Back to pending without spending the attempt. Returns the ids released. */
  async release(leases: readonly LeaseRef[]): Promise<string[]> {
    if (leases.length === 0) return [];
    const now = this.deps.clock.now();
    const released = await this.deps.store.jobReleaseMany({ leases, now });
    this.deps.events.emit(released.map((r) => event('released', r, 'pending', now)));
    return released.map((r) => r.id);
  }

  async setProgress(lease: LeaseRef, progress: number): Promise<boolean> {
    if (!Number.isFinite(progress)) throw new JobqError('invalid_request', 'progress must be a finite number', { details: { field: 'progress' } });
    const now = this.deps.clock.now();
    const ref = await this.deps.store.jobSetProgress({ ...lease, progress, now });
    if (ref) this.deps.events.emit([event('progress', ref, 'processing', now, { progress })]);
    return ref !== null;
  }

  /**
   * Completes a job inside the caller's own transaction (Postgres: a `pg`
   * client with an open BEGIN), so the handler's writes and the completion
   * commit together. No event is emitted: only the caller knows whether it commits.
   */
  async completeInTransaction(tx: unknown, lease: LeaseRef, result?: unknown): Promise<boolean> {
    const finishWith = this.deps.store.jobFinishWith?.bind(this.deps.store);
    if (!finishWith) throw new JobqError('invalid_option', "this store cannot finish a job inside a caller's transaction", { details: { field: 'store' } });
    const now = this.deps.clock.now();
    const outcome = successOutcome(result, { attempts: 0 } as LeasedJob, now, this.deps.maxResultBytes);
    const applied = await finishWith(tx, { finishes: [{ ...lease, outcome }], now });
    return applied.length === 1;
  }

  async drain(): Promise<void> {
    // A claim whose reply was lost took jobs nobody here runs: give them back before stopping,
    // or they would wait out their lease and lose an attempt that never ran (best effort).
    if (this.lostClaims.size > 0) await this.releaseLostClaims().catch(() => {});
    return this.finisher.drain();
  }
}

/** What may be logged of a driver error: never its detail, which can quote payload text. */
export function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; code?: unknown; message?: string } | null;
  if (!e || typeof e !== 'object') return { message: String(err) };
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  if (typeof e.code === 'string') out.code = e.code;
  return out;
}
