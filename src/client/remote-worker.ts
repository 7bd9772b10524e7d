/**
 * `client.runWorker()`: a worker in another process (or on another machine)
 * that feels like an in-process one. The same handlers, `(job, ctx)` with
 * ctx.signal, ctx.progress, ctx.attempt; per queue, one claim loop that
 * long-polls for as many jobs as it has free slots (and, for short jobs, a
 * few ahead: claim-ahead.ts); one heartbeat for all leases held (every
 * leaseMs / 3); finishes batched; a lost lease fires
 * the job's signal and drops its result. SIGTERM or SIGINT stops it
 * gracefully (running jobs get the grace period, the rest are released,
 * attempt unspent); a server that goes away is waited for with backoff; a
 * token the server refuses stops it with that error.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { JobqError } from '../contracts/errors.js';
import type { Job, LeasedJob } from '../contracts/job.js';
import type { DefaultJobTypes, Handler, HandlerMap, JobTypes } from '../core/handler.js';
import { systemClock } from '../core/clock.js';
import { Backoff } from './backoff.js';
import { ClaimAhead, isPrefetch, MAX_PREFETCH } from '../core/worker/claim-ahead.js';
import { HeldJobs } from '../core/worker/held-jobs.js';
import type { JobJson } from './wire-types.js';
import type { FinishJson, LeaseClient } from './lease-client.js';
import { RemoteFinisher } from './remote-finisher.js';
import { toJob, toLeasedJob } from './remote-job.js';
import { abortRun } from '../core/worker/job-context.js';
import { runRemote, type RemoteRunning } from './remote-run.js';
import { isRefused, isUnreachable, type Transport } from './transport.js';
import { consoleLogger } from './worker-logger.js';

export interface RemoteWorkerOptions<T extends JobTypes = DefaultJobTypes> {
  /** Queues to work: names (each at `concurrency`), or name → { concurrency }. */
  queues: readonly string[] | Readonly<Record<string, { concurrency?: number }>>;
  /** Handlers by job type, as in process; the worker claims only these types. */
  handlers: HandlerMap<NoInfer<T>>;
  /** Jobs run at once per queue. @defaultValue 10 */
  concurrency?: number;
  /** How long a claim holds a job without a heartbeat, 1,000 to 3,600,000 (the server's range). @defaultValue 30_000 */
  leaseMs?: number;
  /** How often all running leases are extended (one request), below leaseMs. @defaultValue leaseMs / 3 */
  heartbeatIntervalMs?: number;
  /** How long one claim waits on the server for work (long poll, at most 30 s). @defaultValue 25_000 */
  waitMs?: number;
  /** Grace period for running jobs on stop(). @defaultValue 30_000 */
  shutdownTimeoutMs?: number;
  /** Stop gracefully on SIGTERM and SIGINT (a second one: at once). @defaultValue true */
  handleSignals?: boolean;
  /** pino-compatible; also each handler's ctx.log (a child). @defaultValue JSON lines on stderr at info */
  logger?: Logger;
  /** Claims of one queue in flight at once, each for its share of the slots (see claimLoop). @defaultValue 1 */
  claimsInFlight?: number;
  /**
   * Jobs claimed ahead of free slots, per queue, to start the moment one frees:
   * 'auto' holds what the slots finish during one claim round trip (none for
   * long jobs, at most `concurrency`); a number (0 to 1,000) holds that many. @defaultValue 'auto'
   */
  prefetch?: number | 'auto';
}

/** A running remote worker. */
export interface RemoteWorker {
  /** Settles once the worker stopped: resolves after stop(), rejects with the error that stopped it (a refused token). */
  readonly done: Promise<void>;
  /** Jobs running now. */
  readonly running: number;
  /** Graceful stop (idempotent): no new claims, running jobs get `graceMs`, the rest are released. */
  stop(graceMs?: number): Promise<void>;
}

const immediate = () => new Promise<void>((r) => setImmediate(r));



/** The server takes a lease of 1 s to 1 h (POST /v1/queues/{name}/claim). */
const LEASE_MS = { min: 1000, max: 3_600_000 } as const;

/** Refuses times the server would refuse on every claim (or that make no sense), naming the option, before anything is sent. */
function checkTimes(o: RemoteWorkerOptions): void {
  const bad = (field: string, rule: string) => new JobqError('invalid_option', `${field} must be ${rule}`, { details: { field } });
  const int = (v: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER) => v === undefined || (Number.isInteger(v) && v >= min && v <= max);
  if (!int(o.leaseMs, LEASE_MS.min, LEASE_MS.max)) throw bad('leaseMs', `an integer from ${LEASE_MS.min} to ${LEASE_MS.max} (the server's range)`);
  const leaseMs = o.leaseMs ?? 30_000;
  if (!int(o.heartbeatIntervalMs, 1, leaseMs - 1)) throw bad('heartbeatIntervalMs', `a positive integer below leaseMs (${leaseMs})`);
  if (!int(o.waitMs, 0)) throw bad('waitMs', 'an integer from 0 (at most 30,000 is used)');
  if (!int(o.shutdownTimeoutMs, 0)) throw bad('shutdownTimeoutMs', 'an integer from 0');
  if (o.prefetch !== undefined && !isPrefetch(o.prefetch)) throw bad('prefetch', `'auto' or an integer from 0 to ${MAX_PREFETCH}`);
}

/** A claim the server will refuse every time (a bad option, an old server): no use retrying. */
function isClientError(err: unknown): boolean {
  const status = err instanceof JobqError ? err.details?.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429 && !isUnreachable(err);
}

export class RemoteWorkerRunner implements RemoteWorker {
  readonly done: Promise<void>;
  private readonly running_ = new Map<string, RemoteRunning>();
  private readonly perQueue = new Map<string, number>();
  /** Jobs claimed ahead, waiting for a slot of their queue (leased: heartbeats cover them). */
  private readonly held = new Map<string, HeldJobs>();
  private readonly ahead = new Map<string, ClaimAhead>();
  private readonly concurrency: Map<string, number>;
  private readonly handlers: Record<string, Handler | undefined>;
  private readonly types: string[];
  private readonly logger: Logger;
  private readonly finisher: RemoteFinisher;
  private readonly stopCtl = new AbortController();
  private readonly slotWaiters = new Map<string, (() => void)[]>();
  private readonly loops: Promise<void>[] = [];
  private idleWaiters: (() => void)[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private cutGrace: (() => void) | null = null;
  private fatal: JobqError | null = null;
  private readonly leaseMs: number;
  private readonly waitMs: number;
  private readonly graceMs: number;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];
  private readonly settle: (err: JobqError | null) => void;
  /** How the server's node list names this worker: host, pid and a random tag. */
  private readonly workerId = `${
    hostname()
      .replace(/[^A-Za-z0-9_.:-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 80) || 'worker'
  }.${process.pid}.${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly http: Transport,
    private readonly leases: LeaseClient,
    options: RemoteWorkerOptions,
  ) {
    const conc = options.concurrency ?? 10;
    const queues: Record<string, { concurrency?: number }> = Array.isArray(options.queues)
      ? Object.fromEntries((options.queues as string[]).map((q) => [q, {}]))
      : (options.queues as Record<string, { concurrency?: number }>);
    this.concurrency = new Map(Object.entries(queues).map(([q, o]) => [q, o.concurrency ?? conc]));
    if (this.concurrency.size === 0) throw new JobqError('invalid_option', 'runWorker needs at least one queue', { details: { field: 'queues' } });
    for (const [q, c] of this.concurrency) {
      if (!Number.isInteger(c) || c < 1) throw new JobqError('invalid_option', `concurrency of queue ${q} must be a positive integer`, { details: { field: 'concurrency' } });
    }
    this.handlers = { ...(options.handlers as Record<string, Handler | undefined>) };
    this.types = Object.keys(this.handlers).filter((t) => typeof this.handlers[t] === 'function');
    if (this.types.length === 0) throw new JobqError('invalid_option', 'runWorker needs at least one handler', { details: { field: 'handlers' } });
    checkTimes(options);
    const prefetch = options.prefetch ?? 'auto';
    for (const [q, c] of this.concurrency) {
      const ahead = new ClaimAhead(c, prefetch === 'auto' ? null : prefetch);
      this.ahead.set(q, ahead);
      this.held.set(q, new HeldJobs(systemClock, () => ahead.holdMs, (jobs) => this.giveBackStale(q, jobs)));
    }
    this.leaseMs = options.leaseMs ?? 30_000;
    this.waitMs = Math.min(options.waitMs ?? 25_000, 30_000);
    this.graceMs = options.shutdownTimeoutMs ?? 30_000;
    this.logger = options.logger ?? consoleLogger('info', { component: 'jobq-remote-worker' });
    this.finisher = new RemoteFinisher(leases, this.logger, (err) => this.refused(err));
    let settle!: (err: JobqError | null) => void;
    const stopped = new Promise<JobqError | null>((r) => (settle = r));
    this.done = stopped.then((err) => {
      if (err) throw err;
    });
    // Nobody may be listening to `done` yet: keep an unobserved refusal from crashing the process by itself.
    this.done.catch(() => {});
    this.settle = settle;
    const inFlight = options.claimsInFlight ?? 1;
    // Checked before the heartbeat's timer exists: a refused option leaves nothing running.
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new JobqError('invalid_option', 'claimsInFlight must be a positive integer', { details: { field: 'claimsInFlight' } });
    const beatMs = options.heartbeatIntervalMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
    this.heartbeat = setInterval(() => void this.beat(), beatMs);
    for (const [q, limit] of this.concurrency) {
      const loops = Math.min(inFlight, limit);
      for (let i = 0; i < loops; i++) this.loops.push(this.claimLoop(q, Math.ceil(limit / loops)));
    }
    if (options.handleSignals ?? true) {
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        const fn = () => {
          if (this.stopping) {
            this.logger.warn({ signal: sig }, 'second signal: releasing running jobs now');
            this.cutGrace?.();
          } else {
            this.logger.info({ signal: sig, running: this.running_.size, graceMs: this.graceMs }, 'stopping gracefully');
            void this.stop();
          }
        };
        process.on(sig, fn);
        this.signalHandlers.push([sig, fn]);
      }
    }
    this.logger.info({ url: http.base, worker: this.workerId, queues: Object.fromEntries(this.concurrency), types: this.types }, 'remote worker running');
  }

  get running(): number {
    return this.running_.size;
  }

  private count(queue: string): number {
    return this.perQueue.get(queue) ?? 0;
  }

  /** Slots of a queue promised to claims in flight. */
  private readonly reserved = new Map<string, number>();

  /**
   * One claim loop of a queue. With `claimsInFlight` > 1 a queue has several,
   * each asking for at most its share of the slots, so one claim can travel
   * while the jobs of another run (with a single loop the server and the
   * worker take turns: each was idle about half the time in a drain).
   */
  private async claimLoop(queue: string, share: number): Promise<void> {
    const backoff = new Backoff();
    const limit = this.concurrency.get(queue)!;
    const ahead = this.ahead.get(queue)!;
    const held = this.held.get(queue)!;
    while (!this.stopCtl.signal.aborted) {
      const extra = held.gaveBack ? 0 : ahead.jobs;
      const free = Math.min(share + extra, limit + extra - this.count(queue) - held.size - (this.reserved.get(queue) ?? 0));
      if (free <= 0) {
        await new Promise<void>((r) => (this.slotWaiters.get(queue) ?? this.slotWaiters.set(queue, []).get(queue)!).push(r));
        // Slots freed in the same tick are claimed for together.
        await immediate();
        continue;
      }
      let jobs;
      const want = Math.min(free, 100);
      this.reserved.set(queue, (this.reserved.get(queue) ?? 0) + want);
      // Jobs finished since the last claim ride along with this one: one request per round instead of two.
      const riding = this.finisher.take();
      const claim = { max: want, leaseMs: this.leaseMs, types: this.types, workerId: this.workerId };
      try {
        if (riding.length === 0) jobs = await this.leases.claim(queue, { ...claim, waitMs: this.waitMs }, { signal: this.stopCtl.signal });
        else {
          // Not aborted on stop: it does not wait, and its finishes must not be left half-known.
          const sent = performance.now();
          const out = await this.leases.claimWith(queue, claim, riding.map((p) => p.item));
          ahead.travelled(performance.now() - sent);
          this.finisher.delivered(riding, out.results);
          jobs = out.jobs;
        }
      } catch (err) {
        if (riding.length > 0) this.finisher.undelivered(riding, err);
        this.unreserve(queue, want);
        if (this.stopCtl.signal.aborted) break;
        if (isRefused(err) || isClientError(err)) {
          this.refused(err as JobqError);
          break;
        }
        if (backoff.failures === 0) this.logger.warn({ err, queue }, 'cannot reach the jobq server; retrying with backoff');
        await backoff.sleep(this.stopCtl.signal);
        continue;
      }
      this.unreserve(queue, want);
      if (backoff.failures > 0) this.logger.info({ queue, after: backoff.failures }, 'reached the jobq server again');
      backoff.reset();
      for (const j of jobs) this.run(toLeasedJob(j));
      if (jobs.length > 0) await immediate();
    }
  }

  private unreserve(queue: string, n: number): void {
    this.reserved.set(queue, (this.reserved.get(queue) ?? 0) - n);
    // A claim that came back short leaves slots another loop may be waiting for.
    this.wakeSlots(queue);
  }

  /** Room changed in a queue: its claim loops look again. */
  private wakeSlots(queue: string): void {
    for (const w of this.slotWaiters.get(queue)?.splice(0) ?? []) w();
  }

  private run(job: LeasedJob): void {
    const handler = this.handlers[job.type];
    if (this.stopCtl.signal.aborted || !handler) {
      // Claimed as the worker stopped (or a type it has no handler for): back at once, attempt unspent.
      this.release(job);
      return;
    }
    // Claimed ahead: it starts when a slot of its queue frees (see free).
    if (this.count(job.queue) >= this.concurrency.get(job.queue)!) return void this.held.get(job.queue)!.add([job]);
    this.perQueue.set(job.queue, this.count(job.queue) + 1);
    const rj = runRemote(job, handler, {
      logger: this.logger,
      progress: (j, value) => this.progress(j, value),
      dependencies: (j) => this.dependencies(j),
      release: (r) => this.free(r),
      settled: (r, finish) => this.finished(r, finish),
    });
    this.running_.set(job.id, rj);
  }

  /** Frees a job's slot once; wakes its queue's claim loop. */
  private free(rj: RemoteRunning): boolean {
    if (rj.done) return false;
    rj.done = true;
    if (rj.timer) clearTimeout(rj.timer);
    if (this.running_.get(rj.job.id) === rj) this.running_.delete(rj.job.id);
    this.perQueue.set(rj.job.queue, this.count(rj.job.queue) - 1);
    this.ahead.get(rj.job.queue)!.ran(performance.now() - rj.startedAt);
    const next = this.stopCtl.signal.aborted ? undefined : this.held.get(rj.job.queue)!.next();
    if (next) this.run(next);
    this.wakeSlots(rj.job.queue);
    if (this.running_.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    return true;
  }

  private finished(rj: RemoteRunning, finish: FinishJson): void {
    this.finisher.add(finish, (r) => {
      if (!r || (r.applied && r.status === 'completed')) return;
      const where = { jobId: rj.job.id, queue: rj.job.queue, type: rj.job.type, attempt: rj.job.attempts };
      if (!r.applied && !r.error) this.logger.warn(where, 'lease lost before the job finished; outcome discarded');
      else if (r.applied && r.status === 'failed') this.logger.warn({ ...where, err: finish.outcome === 'failed' ? finish.error.message : undefined }, 'job failed for good');
      else if (r.applied && finish.outcome === 'failed') this.logger.warn({ ...where, err: finish.error.message, status: r.status }, 'job failed; retry scheduled');
    });
  }

  private async progress(job: LeasedJob, value: number): Promise<void> {
    try {
      await this.leases.progress(job, value);
    } catch (err) {
      // A lost lease is found by the next heartbeat; progress never fails a handler.
      if (isRefused(err)) this.refused(err);
      else this.logger.debug({ err, jobId: job.id }, 'progress not recorded');
    }
  }

  private async dependencies(job: LeasedJob): Promise<Job[]> {
    return Promise.all(job.dependsOn.map(async (id) => toJob(await this.http.request<JobJson>('GET', `/v1/jobs/${encodeURIComponent(id)}`))));
  }

  /**
   * One heartbeat for every lease held, running or claimed ahead; the lost
   * ones are given up (signal fires, result dropped; one waiting is dropped).
   */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      const running = [...this.running_.values()].filter((rj) => !rj.done).map((rj) => rj.job);
      const live = [...running, ...[...this.held.values()].flatMap((h) => h.jobs)];
      for (let i = 0; i < live.length; i += 1000) {
        const chunk = live.slice(i, i + 1000);
        try {
          const { lost } = await this.leases.extend(
            chunk.map((j) => ({ id: j.id, leaseToken: j.leaseToken })),
            this.leaseMs,
          );
          for (const l of lost) this.lost(l.id, l.leaseToken);
        } catch (err) {
          if (isRefused(err)) return this.refused(err);
          this.logger.error({ err }, 'heartbeat failed; leases may expire');
        }
      }
    })().finally(() => (this.beating = null));
    return this.beating;
  }

  private lost(id: string, leaseToken: string): void {
    const rj = this.running_.get(id);
    if (rj?.job.leaseToken === leaseToken) return this.giveUp(rj);
    for (const [queue, held] of this.held) if (held.drop(id, leaseToken)) return this.wakeSlots(queue);
  }

  /** Held jobs that got no slot for too long (held-jobs.ts): back to pending, attempt unspent, for any worker. */
  private giveBackStale(queue: string, jobs: readonly LeasedJob[]): void {
    this.logger.debug({ queue, jobs: jobs.length }, 'jobs claimed ahead waited too long for a slot; given back to the queue');
    for (const job of jobs) this.release(job);
  }

  /** A job that never started goes back to pending, its attempt unspent. */
  private release(job: LeasedJob): void {
    this.finisher.add({ id: job.id, leaseToken: job.leaseToken, outcome: 'released' });
  }

  private giveUp(rj: RemoteRunning): void {
    if (!this.free(rj)) return;
    abortRun(rj, 'lease_lost');
    this.logger.warn({ jobId: rj.job.id, queue: rj.job.queue, type: rj.job.type, attempt: rj.job.attempts, reason: 'lease_lost' }, 'job abandoned; its result will be discarded');
  }

  private refused(err: JobqError): void {
    if (this.fatal) return;
    this.fatal = err;
    const what = err.code === 'unauthorized' || err.code === 'forbidden' ? "this worker's token" : "this worker's claims";
    this.logger.error({ err: { code: err.code, message: err.message } }, `the jobq server refused ${what} (${err.code}: ${err.message}); stopping`);
    void this.stop(0);
  }

  stop(graceMs = this.graceMs): Promise<void> {
    if (this.stopping) {
      if (graceMs === 0) this.cutGrace?.();
      return this.stopping;
    }
    this.stopping = (async () => {
      this.stopCtl.abort();
      for (const queue of this.slotWaiters.keys()) this.wakeSlots(queue);
      await Promise.allSettled(this.loops);
      // Claimed ahead, never started: back at once (claims that were in flight have released theirs in run).
      for (const held of this.held.values()) for (const job of held.takeAll()) this.release(job);
      if (this.running_.size > 0 && graceMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          this.cutGrace = () => {
            clearTimeout(timer);
            resolve();
          };
          this.idleWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (this.heartbeat) clearInterval(this.heartbeat);
      await this.beating;
      const leftover = [...this.running_.values()];
      for (const rj of leftover) {
        this.free(rj);
        abortRun(rj, 'shutdown');
      }
      if (leftover.length > 0 && !this.fatal) {
        for (const rj of leftover) this.release(rj.job);
        this.logger.info({ released: leftover.length }, 'released unfinished jobs back to pending');
      } else if (leftover.length > 0) this.logger.warn({ abandoned: leftover.length }, 'running jobs abandoned; they run again when their leases expire');
      // Outcomes already decided are sent while the server can still take them (a lease outlives this wait).
      await this.finisher.drain(this.fatal ? 0 : Math.max(1000, this.leaseMs));
      for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
      this.logger.info(this.fatal ? 'remote worker stopped by the server' : 'remote worker stopped');
      this.settle(this.fatal);
    })();
    return this.stopping;
  }
}
