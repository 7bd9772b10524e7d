/**
 * What one simulated node sees of the shared store: a Proxy that
 *
 * - stops dead when the node is killed: a call made after the kill never
 *   settles, and a reply that arrives after it is swallowed (kill -9);
 * - hides the store's cross-process machinery (`watchChanges`,
 *   `publishEvents`, `remoteSubscribers`, `subscribeEvents`): on SQLite they
 *   run on real timers (setInterval, Date.now) and would make a seed's result
 *   depend on the wall clock. Every node is in this process, so nothing is lost;
 * - injects two faults (issue #7):
 *   - lost claim reply: `jobClaim` commits and then rejects with
 *     `store_unavailable`, as a TCP reset after the COMMIT would;
 *   - poison message: `jobFinishMany` rejects the whole batch, writing
 *     nothing, with a plain Error carrying `code: '22P05'` (Postgres jsonb's
 *     "unsupported Unicode escape sequence") when any finish in it is poison;
 * - reports every reply that changed a job to the simulator, which keeps its
 *   own shadow of the store from them (the fence checks and the "every
 *   transition has its event" check are built on these reports). Each
 *   report carries the call's commit number: both stores commit before the
 *   call returns (better-sqlite3 is synchronous, the memory store has no
 *   await), so numbering calls as they are made numbers commits in commit
 *   order, whatever order their replies come back in (a reply adopted from
 *   another promise takes extra microtask turns). The mirror (mirror.ts)
 *   replays them in that order;
 * - gives each node its own handle on SQLite's leader lock (a side file held
 *   in an exclusive transaction) and lets the simulator drop it when the node
 *   is killed, as the operating system does for a dead process.
 *
 * What counts as poison: an error message containing POISON_MARKER, or any
 * result/error text holding U+0000 or a lone surrogate (raw, or as a \u0000 /
 * unpaired \uD8xx escape in result JSON). The marker is needed because the
 * core replaces NUL and lone surrogates in error text before it reaches a
 * store (src/core/storable-text.ts), so handlers that throw such messages
 * would never poison a batch; results are not sanitised, so a result with
 * U+0000 is poison as it stands.
 */
import { JobqError } from '../../src/contracts/errors.js';
import type { JobError, LeasedJob } from '../../src/contracts/job.js';
import type {
  ClaimedJobs,
  ExpiredLease,
  InsertResult,
  JobChangeParams,
  JobChangeResult,
  JobClaimParams,
  JobExpiredLeasesParams,
  JobExtendLeasesParams,
  JobFinish,
  JobFinishManyParams,
  JobInsertManyParams,
  JobRef,
  JobReleaseClaimParams,
  JobReleaseManyParams,
  JobSetProgressParams,
  LeaderLock,
  QueueSettings,
  Schedule,
  ScheduleAdvanceParams,
  Store,
} from '../../src/contracts/store.js';

export const POISON_MARKER = 'POISON';

/** Optional Store methods that run on the real clock; every node's view answers undefined for them. */
export const HIDDEN_METHODS: ReadonlySet<PropertyKey> = new Set(['watchChanges', 'publishEvents', 'remoteSubscribers', 'subscribeEvents']);

/**
 * What the simulator hears from a node's view; each hook runs as the reply reaches the node, before
 * the node sees it. `seq` numbers the call's commit among every node's (see the header).
 */
export interface ViewObserver {
  inserted(p: JobInsertManyParams, r: InsertResult, seq: number): void;
  /** `lost`: the claim committed but the node is about to be told it failed. */
  claimed(p: JobClaimParams, jobs: ClaimedJobs, lost: boolean, seq: number): void;
  extended(p: JobExtendLeasesParams, ids: readonly string[]): void;
  /** A finish batch is about to go to the store (before the poison check). */
  submitting(p: JobFinishManyParams): void;
  finished(p: JobFinishManyParams, refs: readonly JobRef[], seq: number): void;
  released(p: JobReleaseManyParams, refs: readonly JobRef[], seq: number): void;
  releasedClaim(p: JobReleaseClaimParams, refs: readonly JobRef[], seq: number): void;
  progressed(p: JobSetProgressParams, ref: JobRef | null): void;
  expired(p: JobExpiredLeasesParams, leases: readonly ExpiredLease[]): void;
  cancelled(p: JobChangeParams, r: JobChangeResult, seq: number): void;
  retried(p: JobChangeParams, r: JobChangeResult, seq: number): void;
  /** jobRetry threw (a held key refuses a manual retry with `conflict`). */
  retryRefused(p: JobChangeParams, err: unknown, seq: number): void;
  configured(p: { name: string; settings: QueueSettings; now: number }, seq: number): void;
  scheduleUpserted(s: Schedule, seq: number): void;
  scheduleRemoved(name: string, existed: boolean, seq: number): void;
  scheduleAdvanced(p: ScheduleAdvanceParams, moved: boolean, seq: number): void;
  /** The node's scheduler looked for due schedules (it runs on the leader only). */
  scheduleDue(p: { now: number; limit: number }): void;
  /** A batch refused as poison (nothing written). */
  poisoned(p: JobFinishManyParams, why: string): void;
  /** Text the core promised to sanitise reached the store unsanitised. */
  unsanitised(f: JobFinish): void;
  /** A reply reached a node after it was killed (swallowed; the change it reports happened). */
  replyAfterDeath(method: string): void;
}

export interface ViewFaults {
  /** Chance that a claim which took jobs commits and then rejects (its reply lost). */
  lostClaimReply(): boolean;
  /** Chance that a claim fails before committing anything. */
  claimFailsEarly(): boolean;
}

export function badText(s: string): boolean {
  return s.includes('\u0000') || !s.isWellFormed();
}

const NUL_ESCAPE = /\\u0000/i;
const LONE_HIGH_ESCAPE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})/i;
const LONE_LOW_ESCAPE = /(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

/** Why Postgres jsonb would refuse this finish, or null. */
export function poisonOf(f: JobFinish): string | null {
  const o = f.outcome;
  if (o.kind === 'completed') {
    const r = o.resultJson;
    if (r !== null && (badText(r) || NUL_ESCAPE.test(r) || LONE_HIGH_ESCAPE.test(r) || LONE_LOW_ESCAPE.test(r))) return 'result text';
    return null;
  }
  const error = errorOf(f);
  if (error?.message.includes(POISON_MARKER)) return 'marker';
  if (error && unsanitised(error)) return 'error text';
  return null;
}

/** The error an outcome records, if it records one. */
export function errorOf(f: JobFinish): JobError | null {
  const o = f.outcome;
  return 'error' in o ? o.error : null;
}

function unsanitised(e: JobError): boolean {
  return badText(e.message) || (e.stack !== undefined && badText(e.stack));
}

function postgresRefusal(): Error {
  return Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
}

const never = <T>() => new Promise<T>(() => {});

/** Numbers store calls as they are made, across every node (commit order: see the header). */
export class CommitCounter {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

export interface ViewOptions {
  store: Store;
  isDead: () => boolean;
  observer: ViewObserver;
  faults: ViewFaults;
  commits: CommitCounter;
  /** Called on every call the node makes (the clock settles while the nodes are busy). */
  poke: () => void;
  /** The leader locks this node took from the store: the simulator releases them when it kills the node. */
  locks: LeaderLock[];
}

export function storeView(o: ViewOptions): Store {
  const { store, isDead, observer, faults, commits, poke } = o;
  /**
   * Calls the real store unless the node is dead; swallows the reply if it died meanwhile; reports
   * the reply first, with the number the call got as it was made (its commit's place).
   */
  const call = <R>(method: string, invoke: () => Promise<R>, report?: (r: R, seq: number) => void, refused?: (err: unknown, seq: number) => void): Promise<R> => {
    poke();
    if (isDead()) return never<R>();
    const pending = invoke();
    const seq = commits.next();
    return pending.then(
      (r) => {
        if (isDead()) {
          observer.replyAfterDeath(method);
          return never<R>();
        }
        report?.(r, seq);
        return r;
      },
      (err: unknown) => {
        if (!isDead()) refused?.(err, seq);
        throw err;
      },
    );
  };

  const overrides: Partial<Record<keyof Store, unknown>> = {
    jobInsertMany: (p: JobInsertManyParams) => call('jobInsertMany', () => store.jobInsertMany(p), (r, seq) => observer.inserted(p, r, seq)),
    jobClaim: (p: JobClaimParams) => {
      poke();
      if (isDead()) return never();
      if (faults.claimFailsEarly()) return Promise.reject(new JobqError('store_unavailable', 'the database is unavailable (simulated: connection refused); retry later'));
      const pending = store.jobClaim(p);
      const seq = commits.next();
      return pending.then((jobs) => {
        if (isDead()) {
          observer.replyAfterDeath('jobClaim');
          return never<LeasedJob[]>();
        }
        const lost = jobs.length > 0 && faults.lostClaimReply();
        observer.claimed(p, jobs, lost, seq);
        if (lost) throw new JobqError('store_unavailable', 'the database is unavailable (simulated: connection reset after COMMIT); retry later');
        return jobs;
      });
    },
    jobExtendLeases: (p: JobExtendLeasesParams) => call('jobExtendLeases', () => store.jobExtendLeases(p), (ids) => observer.extended(p, ids)),
    jobFinishMany: (p: JobFinishManyParams) => {
      poke();
      if (isDead()) return never();
      observer.submitting(p);
      for (const f of p.finishes) {
        const error = errorOf(f);
        if (error && unsanitised(error)) observer.unsanitised(f);
      }
      const poison = p.finishes.map(poisonOf).find((w) => w !== null);
      if (poison) {
        observer.poisoned(p, poison);
        return Promise.reject(postgresRefusal());
      }
      return call('jobFinishMany', () => store.jobFinishMany(p), (refs, seq) => observer.finished(p, refs, seq));
    },
    jobReleaseMany: (p: JobReleaseManyParams) => call('jobReleaseMany', () => store.jobReleaseMany(p), (refs, seq) => observer.released(p, refs, seq)),
    jobReleaseClaim: (p: JobReleaseClaimParams) => call('jobReleaseClaim', () => store.jobReleaseClaim(p), (refs, seq) => observer.releasedClaim(p, refs, seq)),
    jobSetProgress: (p: JobSetProgressParams) => call('jobSetProgress', () => store.jobSetProgress(p), (ref) => observer.progressed(p, ref)),
    jobExpiredLeases: (p: JobExpiredLeasesParams) => call('jobExpiredLeases', () => store.jobExpiredLeases(p), (leases) => observer.expired(p, leases)),
    jobCancel: (p: JobChangeParams) => call('jobCancel', () => store.jobCancel(p), (r, seq) => observer.cancelled(p, r, seq)),
    jobRetry: (p: JobChangeParams) =>
      call(
        'jobRetry',
        () => store.jobRetry(p),
        (r, seq) => observer.retried(p, r, seq),
        (err, seq) => observer.retryRefused(p, err, seq),
      ),
    queueConfigure: (p: { name: string; settings: QueueSettings; maxQueues: number; now: number }) =>
      call('queueConfigure', () => store.queueConfigure(p), (_r, seq) => observer.configured(p, seq)),
    scheduleUpsert: (s: Schedule) => call('scheduleUpsert', () => store.scheduleUpsert(s), (_r, seq) => observer.scheduleUpserted(s, seq)),
    scheduleRemove: (name: string) => call('scheduleRemove', () => store.scheduleRemove(name), (existed, seq) => observer.scheduleRemoved(name, existed, seq)),
    scheduleDue: (p: { now: number; limit: number }) => call('scheduleDue', () => store.scheduleDue(p), () => observer.scheduleDue(p)),
    scheduleAdvance: (p: ScheduleAdvanceParams) => call('scheduleAdvance', () => store.scheduleAdvance(p), (moved, seq) => observer.scheduleAdvanced(p, moved, seq)),
  };
  if (store.leaderLock) {
    const leaderLock = store.leaderLock.bind(store);
    overrides.leaderLock = (name: string): LeaderLock => {
      const lock = leaderLock(name);
      o.locks.push(lock);
      return {
        tryAcquire: () => call('leaderLock.tryAcquire', () => lock.tryAcquire()),
        release: () => call('leaderLock.release', () => lock.release()),
      };
    };
  }

  return new Proxy(store, {
    get(target, prop, receiver) {
      if (HIDDEN_METHODS.has(prop)) return undefined;
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof Store];
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        poke();
        if (isDead()) return never();
        const r = (value as (...a: unknown[]) => unknown).apply(target, args);
        return r instanceof Promise ? call(String(prop), () => r) : r;
      };
    },
  });
}
