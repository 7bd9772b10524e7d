/**
 * The simulator's bookkeeping and its invariants (the rules are listed in
 * simulator.ts's header). Three views of every job are kept and held against
 * each other:
 *
 * - the event view, built from the events every node's bus emitted, in
 *   emission order (one global log);
 * - the shadow, built from what the store told the nodes (each reply to a
 *   call that changed a job, seen by the node's store view): current lease
 *   token and expiry, and the transitions that are still owed their event;
 * - the store itself, read back (jobGet) for every job touched in a step.
 *
 * Per step only the jobs touched in it (an event, or a store reply naming
 * them) are read back: nothing else can have changed a job except the
 * store's silent promotion of due scheduled jobs, which no invariant depends
 * on. A full sweep over every job runs at the end.
 */
import type { JobEvent, JobEventKind } from '../../src/contracts/events.js';
import { canTransition, JOB_STATUSES, type Job, type JobStatus, type LeasedJob } from '../../src/contracts/job.js';
import type { DependentChange, JobChangeResult, JobOutcome, JobRef, LeaderLock, Store } from '../../src/contracts/store.js';
import type { Jobq } from '../../src/core/jobq.js';
import { known } from './known-bugs.js';
import { Mirror, type MirrorJob } from './mirror.js';
import type { NodeClock } from './node-clock.js';
import type { SimClock } from './sim-clock.js';
import type { ViewObserver } from './store-view.js';

export type NodeState = 'live' | 'stopping' | 'stopped' | 'dead';

export interface SimNode {
  index: number;
  name: string;
  jobq: Jobq;
  clock: NodeClock;
  /** Job types it has handlers for. */
  types: readonly string[];
  state: NodeState;
  /** Last time its timers were late (lag > 0); -Infinity if never. */
  lastLaggingAt: number;
  /** Leases its rescuer just found expired (`id token`): its next finish call takes them back. */
  rescuing: Set<string> | null;
  /** Its handlers still running (started, not returned, not abandoned). */
  running: Set<Run>;
  /** When its last heartbeat (jobExtendLeases) was answered. */
  lastHeartbeatAt: number;
  /** Its own concurrency for the queue (a per-process cap beneath the cluster-wide limits). */
  concurrency: number;
  /** Leader locks it took (SQLite's side-file lock): a kill -9 drops them, as the OS would. */
  locks: LeaderLock[];
  /** When its cron scheduler last looked for due schedules (-Infinity: never). */
  lastScheduleDueAt: number;
}

/** Longest lag the simulator gives a node's timers. */
export const MAX_LAG_MS = 1500;
export const LEASE_MS = 1000;
export const HEARTBEAT_MS = Math.floor(LEASE_MS / 3);
/**
 * A lease can run out on a live node only if its heartbeats were late within this long before: a
 * heartbeat armed during a lag fires up to HEARTBEAT_MS + MAX_LAG_MS after it, and the lease it
 * extended lasts LEASE_MS.
 */
const LATE_WINDOW_MS = LEASE_MS + HEARTBEAT_MS + MAX_LAG_MS;

export interface WorkPayload {
  ms: number;
  fail: boolean;
  hang: boolean;
  permanent: boolean;
  /** Report progress once, at the start. */
  progress: boolean;
  /** nul / surrogate: throw an error whose message is poison; result: return a result holding U+0000. */
  poison: 'none' | 'nul' | 'surrogate' | 'result';
  /** The handler throws RateLimitedError on its first `times` runs (the remote side throttles). */
  throttle?: { times: number; retryAfterMs: number; scope: 'key' | 'queue' };
}

/** The job type no node ever has a handler for. */
export const ORPHAN_TYPE = 'fax';

/** A store call that changed a job; `dependent`: a waiting job moved, in the same transaction, by its dependency's end. */
type Call = 'insert' | 'claim' | 'finish' | 'release' | 'progress' | 'cancel' | 'retry' | 'dependent';
const KINDS_OF: Record<Call, readonly JobEventKind[]> = {
  insert: ['enqueued'],
  claim: ['started'],
  finish: ['completed', 'retrying', 'failed', 'rescued', 'throttled'],
  release: ['released'],
  progress: ['progress'],
  cancel: ['cancelled'],
  retry: ['retried'],
  dependent: ['ready', 'failed', 'cancelled'],
};

/** A change the store reported to a node, still owed its event. */
interface Owed {
  node: SimNode;
  call: Call;
  status: JobStatus;
  attempt: number;
}

type Outcome = 'completed' | 'retrying' | 'failed' | 'throttled';

export interface Run {
  job: JobState;
  node: SimNode;
  token: string;
  attempt: number;
  /** The payload it ran with (a replaced holder's is not the one it was enqueued with). */
  payload: WorkPayload | null;
  startedAt: number;
  /** Lease expiry of this run as the store last set it. */
  leaseValidUntil: number;
  state: 'running' | 'settled' | 'aborted';
  /** What the pool must write for it (when it settled holding its lease). */
  expect: Outcome | null;
  /** It ended in poison (an error marked POISON or a result holding U+0000). */
  poison: boolean;
  settledAt: number;
  /** Time of the last heartbeat of its node that extended (or tried to) its lease. */
  lastCoveredAt: number;
  /** When its lease stopped being the job's current one (its own outcome, a rescue, a cancel…). */
  lostAt: number | null;
  /** When the pool first sent its outcome to the store, and whether its lease was current then. */
  submittedAt: number | null;
  submittedCurrent: boolean;
  /** Its own outcome event, once written. */
  written: Outcome | null;
  /** The event that took the job from this run (its own outcome, rescue, cancel, release). */
  endedBy: JobEventKind | null;
  endedAt: number;
}

interface LostClaim {
  token: string;
  node: SimNode;
  at: number;
  jobs: JobState[];
}

export interface JobState {
  /** Simulation-wide number (ids are UUIDv7s, different on every run). */
  n: number;
  id: string;
  type: string;
  maxAttempts: number;
  createdAt: number;
  /** Enqueued with dependencies (it may start waiting, or failed or cancelled by one). */
  hasDeps: boolean;
  /** Replaced (onConflict 'replace') by a later job of its own batch, before its enqueued event: its status then. */
  replacedTo: JobStatus | null;
  // The event view.
  status: JobStatus | null;
  attempt: number;
  lastAt: number;
  /** Processing under a claim whose reply was lost: no `started`, no handler. */
  unstarted: LostClaim | null;
  completedEver: boolean;
  // The shadow.
  token: string | null;
  leaseExpiry: number | null;
  /** Token and expiry of the last lease, when it ended. */
  lastToken: string | null;
  lastLeaseExpiry: number | null;
  owed: Owed[];
  // Accounting since the last manual retry.
  starts: number;
  /** Attempts spent without a start that the rules excuse (see header). */
  excused: number;
  run: Run | null;
  /** Runs that may still be executing (for the one-valid-lease check). */
  runs: Run[];
  /** Its place in the mirror (set when the mirror replays its insert). */
  m: MirrorJob | null;
  /** `node:attempt` of the lease_lost events seen since the last manual retry (null: none). */
  leaseLostBy: Set<string> | null;
  /**
   * `node:attempt` of runs from before the last manual retry, whose loss may still be reported:
   * a retry numbers attempts from 1 again, so such a report names an attempt the new runs use too.
   */
  beforeRetry: Set<string> | null;
  // The store, as last read.
  seen: JobStatus | null;
  /** Its last events and notes, for violation messages (a flat string, its oldest part cut). */
  hist: string;
}

export interface Counters {
  events: number;
  runs: number;
  lostClaims: number;
  poisonBatches: number;
  excusedDeadClaimant: number;
  excusedLaggingClaimant: number;
  excusedCancelledUnstarted: number;
  repliesAfterDeath: number;
  /** lease_lost events: a node found the lease of one of its runs gone. */
  leaseLost: number;
}

/** In line to be claimed (a scheduled job is promoted to pending by the store, silently). */
const IN_LINE: readonly JobStatus[] = ['pending', 'scheduled'];
const HIST_MAX_CHARS = 700;
/** Events kept in the global log (the checks run as events arrive; the log is for reading a failure). */
const LOG_MAX = 20_000;

function reachable(from: JobStatus, to: JobStatus): boolean {
  if (from === to) return true;
  const seen = new Set<JobStatus>([from]);
  const todo: JobStatus[] = [from];
  while (todo.length) {
    const s = todo.pop()!;
    if (s === to) return true;
    for (const n of JOB_STATUSES) if (canTransition(s, n) && !seen.has(n)) seen.add(n), todo.push(n);
  }
  return false;
}

/** A status change an event may make: along the table, a due scheduled job counting as pending. */
function legalMove(from: JobStatus, to: JobStatus): boolean {
  return canTransition(from, to) || (from === 'scheduled' && canTransition('pending', to));
}

export function zeroCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

function outcomeStatus(o: JobOutcome): JobStatus {
  return o.kind === 'completed' ? 'completed' : o.kind === 'failed' ? 'failed' : 'status' in o ? o.status : 'failed';
}

export class Model {
  readonly jobs = new Map<string, JobState>();
  readonly list: JobState[] = [];
  readonly counters: Counters = { events: 0, runs: 0, lostClaims: 0, poisonBatches: 0, excusedDeadClaimant: 0, excusedLaggingClaimant: 0, excusedCancelledUnstarted: 0, repliesAfterDeath: 0, leaseLost: 0 };
  /** Unfinished jobs by the event view, orphans apart: the simulator bounds these. */
  active = 0;
  activeOrphans = 0;
  private touched = new Set<JobState>();
  private settledRuns: Run[] = [];
  /** Running handlers whose node heartbeated this step. */
  private heartbeatChecks = new Set<Run>();
  /** Settled runs whose outcome the pool has not sent yet, by `id token`. */
  private unsubmitted = new Map<string, Run>();
  /** Jobs the store showed processing at their last read. */
  private processing = new Set<JobState>();
  /** Jobs the shadow holds under a lease. */
  private leased = new Set<JobState>();
  private lostClaims = new Map<string, LostClaim>();
  private lastRescueAt = -Infinity;
  private steps = 0;
  private owedCount = 0;
  /** The global event log, in emission order (the most recent LOG_MAX entries). */
  readonly log: { seq: number; node: number; e: JobEvent }[] = [];
  private seq = 0;
  private digestState = 0x811c9dc5;
  /** The store as it is after each commit, replayed in commit order (mirror.ts). */
  readonly mirror: Mirror;
  /** How often each known bug (known-bugs.ts) showed itself. */
  readonly knownBugs = new Map<string, number>();
  private readonly t0: number;

  constructor(
    private readonly clock: SimClock,
    private readonly store: Store,
    private readonly violate: (msg: string) => void,
    private readonly storeKind: 'memory' | 'sqlite',
  ) {
    this.t0 = clock.now();
    this.mirror = new Mirror(
      (st, msg) => this.bad(st, msg),
      violate,
      (id) => this.jobs.get(id),
      (id) => this.knownBug(id),
      (st) => this.touched.add(st),
      this.t0,
      storeKind,
    );
  }

  get digest(): string {
    return (this.digestState >>> 0).toString(16).padStart(8, '0');
  }

  private hash(s: string): void {
    let h = this.digestState;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    this.digestState = h;
  }

  private bad(st: JobState | undefined, msg: string): void {
    this.violate(st ? `job #${st.n} (${st.type}, maxAttempts ${st.maxAttempts}): ${msg}\n      history: ${st.hist}` : msg);
  }

  private note(st: JobState, text: string): void {
    let h = `${st.hist}${st.hist ? ' → ' : ''}${text}@${this.clock.now() - this.t0}`;
    if (h.length > HIST_MAX_CHARS) h = `…${h.slice(h.indexOf(' → ', h.length - HIST_MAX_CHARS))}`;
    // Flattened (a plain concatenation keeps every piece alive as a rope).
    st.hist = (' ' + h).slice(1);
  }

  private job(id: string, what: string): JobState | undefined {
    const st = this.jobs.get(id);
    if (!st) this.violate(`${what} names job ${id}, which the store never reported inserting`);
    return st;
  }

  private owe(st: JobState, node: SimNode, call: Call, status: JobStatus, attempt: number): void {
    st.owed.push({ node, call, status, attempt });
    this.owedCount++;
    this.touched.add(st);
  }

  private setLease(st: JobState, token: string | null, expiry: number | null): void {
    if (st.token !== null && st.token !== token) {
      const now = this.clock.now();
      for (const r of st.runs) if (r.token === st.token && r.lostAt === null) r.lostAt = now;
    }
    if (token === null) {
      if (st.token !== null) {
        st.lastToken = st.token;
        st.lastLeaseExpiry = st.leaseExpiry;
      }
      this.leased.delete(st);
    } else this.leased.add(st);
    st.token = token;
    st.leaseExpiry = expiry;
  }

  // ─── What the store told the nodes ────────────────────────────────────────

  observer(node: SimNode): ViewObserver {
    return {
      inserted: (p, res, seq) => {
        const dedup = new Map(res.deduplicated.map((d) => [d.index, d]));
        const initial = new Map(res.initial.map((i) => [i.index, i.status]));
        p.jobs.forEach((r, index) => {
          const d = dedup.get(index);
          if (d) {
            // The key was held: no job was created, no event is owed. A replaced holder moved in line silently.
            this.mirror.cron.deduplicated(r.key ?? '');
            const holder = this.jobs.get(d.job.id);
            if (holder && d.replaced) {
              // No event says so (a replace moves a job in line silently, pending ⇄ scheduled). A holder
              // enqueued earlier in this very batch takes it once its enqueued event is out.
              this.touched.add(holder);
              this.note(holder, `~replaced→${d.job.status} by ${node.name}`);
              if (holder.status === null) holder.replacedTo = d.job.status;
              else if (IN_LINE.includes(holder.status)) holder.status = d.job.status;
            }
            return;
          }
          if (this.jobs.has(r.id)) {
            this.violate(`the store reported inserting job ${r.id} twice`);
            return;
          }
          const status = initial.get(index) ?? r.status;
          const st: JobState = {
            n: this.list.length + 1,
            id: r.id,
            type: r.type,
            maxAttempts: r.maxAttempts,
            createdAt: r.createdAt,
            hasDeps: (r.dependsOn?.length ?? 0) > 0,
            replacedTo: null,
            status: null,
            attempt: 0,
            lastAt: -Infinity,
            unstarted: null,
            completedEver: false,
            token: null,
            leaseExpiry: null,
            lastToken: null,
            lastLeaseExpiry: null,
            leaseLostBy: null,
            beforeRetry: null,
            owed: [],
            starts: 0,
            excused: 0,
            run: null,
            runs: [],
            seen: status,
            hist: '',
            m: null,
          };
          this.jobs.set(r.id, st);
          this.list.push(st);
          this.owe(st, node, 'insert', status, 0);
        });
        this.mirror.record(seq, () => this.mirror.insert(p, res));
      },
      claimed: (p, jobs, lost, seq) => {
        this.mirror.record(seq, () => this.mirror.claim(p, jobs));
        let claim: LostClaim | null = null;
        if (lost) {
          claim = { token: p.leaseToken, node, at: p.now, jobs: [] };
          this.lostClaims.set(p.leaseToken, claim);
          this.counters.lostClaims++;
        }
        for (const j of jobs) {
          const st = this.job(j.id, 'a claim reply');
          if (!st) continue;
          this.touched.add(st);
          if (p.types !== null && !p.types.includes(j.type)) this.bad(st, `the store handed ${node.name} a "${j.type}" job in a claim for types [${p.types.join(', ')}]`);
          if (!node.types.includes(j.type)) this.bad(st, `${node.name} claimed a "${j.type}" job but has handlers only for [${node.types.join(', ')}]`);
          if (j.leaseToken !== p.leaseToken || j.leaseExpiresAt !== p.now + p.leaseMs) this.bad(st, `claim reply carries lease ${j.leaseExpiresAt} / a foreign token`);
          if (st.token !== null) this.bad(st, `the store handed it to ${node.name} while it was leased under another token (lease until ${st.leaseExpiry})`);
          this.setLease(st, p.leaseToken, p.now + p.leaseMs);
          if (claim) {
            // A silent transition: the core never learns of it, so no event.
            claim.jobs.push(st);
            this.note(st, `~lost-claim:${j.attempts} by ${node.name}`);
            if (st.status === null || !IN_LINE.includes(st.status)) this.bad(st, `a claim took it while the events say ${st.status}`);
            if (j.attempts !== st.attempt + 1) this.bad(st, `a claim made attempts ${j.attempts}; the events say ${st.attempt} before it`);
            st.status = 'processing';
            st.attempt = j.attempts;
            st.unstarted = claim;
          } else this.owe(st, node, 'claim', 'processing', j.attempts);
        }
      },
      extended: (p, ids) => {
        // H1 (checked at the end of the step: a heartbeat may take several calls).
        const covered = new Set(p.leases.map((l) => `${l.id} ${l.leaseToken}`));
        for (const run of node.running) {
          this.heartbeatChecks.add(run);
          if (covered.has(`${run.job.id} ${run.token}`)) run.lastCoveredAt = p.now;
        }
        node.lastHeartbeatAt = p.now;
        // The store answers with ids: with two leases of one job in the call, the id stands for the current one.
        const kept = new Set(ids);
        for (const l of p.leases) {
          const st = this.jobs.get(l.id);
          if (!st) continue;
          const current = st.token === l.leaseToken;
          const extended = kept.has(l.id) && (current || !p.leases.some((m) => m.id === l.id && m.leaseToken === st.token));
          if (extended && !current) this.bad(st, `the store extended a lease that is not current (fence broken) for ${node.name}`);
          if (!kept.has(l.id) && current) this.bad(st, `the store refused to extend the current lease of ${node.name}`);
          if (extended && current) {
            st.leaseExpiry = p.now + p.leaseMs;
            if (st.run && st.run.token === l.leaseToken) st.run.leaseValidUntil = st.leaseExpiry;
          }
        }
      },
      submitting: (p) => {
        // The rescuer finishes exactly the leases its jobExpiredLeases call just listed; anything else is a worker's outcome.
        const rescuing = node.rescuing;
        node.rescuing = null;
        for (const f of p.finishes) {
          if (rescuing?.has(`${f.id} ${f.leaseToken}`)) continue;
          const st = this.jobs.get(f.id);
          const run = this.unsubmitted.get(`${f.id} ${f.leaseToken}`);
          if (!st || !run || run.node !== node) continue;
          this.unsubmitted.delete(`${f.id} ${f.leaseToken}`);
          run.submittedAt = this.clock.now();
          run.submittedCurrent = st.token === f.leaseToken;
        }
      },
      finished: (p, refs, seq) => {
        this.mirror.record(seq, () => this.mirror.finished(p, refs));
        const done = new Map(refs.map((r) => [r.id, r]));
        for (const f of p.finishes) {
          const st = this.jobs.get(f.id);
          if (!st) continue;
          // A job may appear twice in a batch (two runs of it on one node); only the current lease's finish applies.
          const ref = done.get(f.id);
          const current = st.token === f.leaseToken;
          const appliedHere = ref !== undefined && (current || !p.finishes.some((g) => g.id === f.id && g.leaseToken === st.token));
          if (appliedHere && !current) this.bad(st, `the store applied a finish (${f.outcome.kind}) under a lease that is not current (fence broken), for ${node.name}`);
          if (!ref && current) this.bad(st, `the store refused a finish (${f.outcome.kind}) under the current lease, for ${node.name}`);
          if (!appliedHere) continue;
          done.delete(f.id);
          this.setLease(st, null, null);
          this.owe(st, node, 'finish', outcomeStatus(f.outcome), ref.attempts);
          this.oweDependents(node, ref.dependents);
        }
      },
      released: (p, refs, seq) => {
        this.mirror.record(seq, () => this.mirror.released(refs, p.now));
        const done = new Set(refs.map((r) => r.id));
        for (const l of p.leases) {
          const st = this.jobs.get(l.id);
          if (!st) continue;
          const current = st.token === l.leaseToken;
          const released = done.has(l.id) && (current || !p.leases.some((m) => m.id === l.id && m.leaseToken === st.token));
          if (released && !current) this.bad(st, `the store released a lease that is not current (fence broken), for ${node.name}`);
          if (!done.has(l.id) && current) this.bad(st, `the store refused to release the current lease of ${node.name}`);
        }
        this.releasedRefs(node, refs);
      },
      releasedClaim: (p, refs, seq) => {
        this.mirror.record(seq, () => this.mirror.released(refs, p.now));
        const claim = this.lostClaims.get(p.leaseToken);
        const done = new Set(refs.map((r) => r.id));
        for (const r of refs) {
          const st = this.jobs.get(r.id);
          if (st && st.token !== p.leaseToken) this.bad(st, `jobReleaseClaim released it although it was not held under that claim's token`);
        }
        for (const st of claim?.jobs ?? []) {
          if (st.token === p.leaseToken && !done.has(st.id)) this.bad(st, `jobReleaseClaim left it processing under the lost claim's token`);
        }
        // A claim that failed before committing (its token is remembered all the same) took nothing.
        if (!claim && refs.length > 0) this.violate(`${node.name}'s jobReleaseClaim released jobs under a token no lost claim used`);
        this.lostClaims.delete(p.leaseToken);
        this.releasedRefs(node, refs);
      },
      progressed: (p, ref) => {
        const st = this.jobs.get(p.id);
        if (!st) return;
        const current = st.token === p.leaseToken;
        if (ref && !current) this.bad(st, `the store recorded progress under a lease that is not current (fence broken)`);
        if (!ref && current) this.bad(st, `the store refused progress under the current lease`);
        if (ref) this.owe(st, node, 'progress', 'processing', ref.attempts);
      },
      expired: (p, leases) => {
        node.rescuing = new Set(leases.map((l) => `${l.id} ${l.leaseToken}`));
        const listed = new Set<string>();
        for (const l of leases) {
          listed.add(l.id);
          const st = this.jobs.get(l.id);
          if (!st) continue;
          if (st.token !== l.leaseToken) this.bad(st, `jobExpiredLeases listed a lease that is not current`);
          else if (st.leaseExpiry === null || st.leaseExpiry > p.now) this.bad(st, `jobExpiredLeases(now=${p.now - this.t0}) listed a lease that runs until ${st.leaseExpiry === null ? null : st.leaseExpiry - this.t0}`);
        }
        if (leases.length < p.limit) {
          this.lastRescueAt = Math.max(this.lastRescueAt, p.now);
          for (const st of this.leased) {
            if (st.leaseExpiry !== null && st.leaseExpiry <= p.now && !listed.has(st.id)) this.bad(st, `jobExpiredLeases(now=${p.now - this.t0}) left out its lease, expired at ${st.leaseExpiry - this.t0}`);
          }
        }
      },
      cancelled: (p, r, seq) => {
        this.mirror.record(seq, () => this.mirror.cancelled(p, r));
        this.changed(node, 'cancel', r);
      },
      retried: (p, r, seq) => {
        this.mirror.record(seq, () => this.mirror.retried(p, r));
        this.changed(node, 'retry', r);
      },
      retryRefused: (p, err, seq) => this.mirror.record(seq, () => this.mirror.retryRefused(p, err)),
      configured: (p, seq) => this.mirror.record(seq, () => this.mirror.configure(p.name, p.settings)),
      scheduleUpserted: (sch, seq) => this.mirror.record(seq, () => this.mirror.cron.upserted(sch)),
      scheduleRemoved: (name, _existed, seq) => this.mirror.record(seq, () => this.mirror.cron.removed(name)),
      scheduleAdvanced: (p, moved, seq) => this.mirror.record(seq, () => this.mirror.cron.advanced(p, moved)),
      scheduleDue: (p) => void (node.lastScheduleDueAt = p.now),
      poisoned: () => {
        this.counters.poisonBatches++;
      },
      unsanitised: (f) => this.bad(this.jobs.get(f.id), `an error message with U+0000 or a lone surrogate reached the store (the core promises to replace them)`),
      replyAfterDeath: () => {
        // Cannot happen with these stores (both finish a call before its promise settles, and nodes are
        // killed only between steps); if it ever does, the change it reports has no event and no shadow.
        this.counters.repliesAfterDeath++;
        this.violate(`simulator assumption broken: a store reply reached ${node.name} after it was killed`);
      },
    };
  }

  private releasedRefs(node: SimNode, refs: readonly JobRef[]): void {
    for (const r of refs) {
      const st = this.jobs.get(r.id);
      if (!st) continue;
      this.setLease(st, null, null);
      this.owe(st, node, 'release', 'pending', r.attempts);
    }
  }

  private changed(node: SimNode, call: 'cancel' | 'retry', r: JobChangeResult): void {
    if (!r.job) return;
    const st = this.job(r.job.id, `a ${call} reply`);
    if (!st) return;
    if (call === 'cancel') {
      if (r.job.status !== 'cancelled') this.bad(st, `jobCancel returned it ${r.job.status}`);
      this.setLease(st, null, null);
    } else if (r.job.status !== 'pending' || r.job.attempts !== 0) this.bad(st, `jobRetry returned it ${r.job.status} with ${r.job.attempts} attempts`);
    this.owe(st, node, call, r.job.status, r.job.attempts);
    if (call === 'cancel') this.oweDependents(node, r.dependents);
  }

  /** Waiting jobs a transition moved (ready, or ended by their policy): each is owed its event, from the same node. */
  private oweDependents(node: SimNode, dependents: readonly DependentChange[] | undefined): void {
    for (const d of dependents ?? []) {
      const st = this.job(d.id, 'a dependent change');
      if (st) this.owe(st, node, 'dependent', d.status, d.attempts);
    }
  }

  // ─── The event stream ─────────────────────────────────────────────────────

  onEvent(node: SimNode, e: JobEvent): void {
    this.counters.events++;
    this.log.push({ seq: this.seq++, node: node.index, e });
    if (this.log.length > 2 * LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
    const st = this.jobs.get(e.jobId);
    this.hash(`${e.kind}|${st?.n}|${e.attempt}|${e.status}|${node.index}|${e.at - this.t0};`);
    if (!st) {
      this.violate(`${node.name} emitted ${e.kind} for job ${e.jobId}, which the store never reported inserting`);
      return;
    }
    this.touched.add(st);
    this.note(st, `${e.kind}:${e.attempt}${e.status === 'processing' || e.kind === e.status ? '' : `→${e.status}`} by ${node.name}`);
    if (e.kind === 'lease_lost') return this.leaseLostEvent(node, st, e);

    // Exactly once: the event pays for the oldest change the store reported for this job.
    const owed = st.owed[0];
    let call: Call | null = null;
    if (!owed) {
      this.bad(st, `${node.name} emitted ${e.kind} (attempt ${e.attempt}, ${e.status}) for no change the store reported: a duplicate or invented event`);
    } else if (owed.node !== node || owed.status !== e.status || owed.attempt !== e.attempt || !KINDS_OF[owed.call].includes(e.kind)) {
      this.bad(st, `${node.name} emitted ${e.kind} (attempt ${e.attempt}, ${e.status}) but the store's next reported change was a ${owed.call} to ${owed.node.name} (attempt ${owed.attempt}, ${owed.status})`);
    } else {
      call = owed.call;
      st.owed.shift();
      this.owedCount--;
    }
    if (e.type !== st.type || e.queue !== 'default') this.bad(st, `${e.kind} event says ${e.queue}/${e.type}`);
    if (e.at < st.lastAt) this.bad(st, `${e.kind} event at ${e.at - this.t0} comes after one at ${st.lastAt - this.t0}`);
    // An enqueued event is stamped with the job's creation; the leader's scheduler enqueues from a timer, and
    // another timer may fire before its group commit does (then the event comes out later than its stamp).
    if (e.kind === 'enqueued' ? e.at !== st.createdAt || e.at > this.clock.now() : e.at !== this.clock.now()) {
      this.bad(st, `${e.kind} event stamped ${e.at - this.t0}, emitted at ${this.clock.now() - this.t0}${e.kind === 'enqueued' ? ` (created at ${st.createdAt - this.t0})` : ''}`);
    }
    st.lastAt = e.at;
    this.applyEvent(node, st, e, call);
  }

  /** `call`: the store change the event pays for (null when it matched none: already reported). */
  private applyEvent(node: SimNode, st: JobState, e: JobEvent, call: Call | null): void {
    const prev = st.status;
    const bad = (msg: string) => this.bad(st, `${e.kind} event (attempt ${e.attempt}, ${e.status}) from ${node.name}: ${msg}`);
    const run = st.run;
    const held = prev === 'processing' && st.unstarted === null;
    if (e.kind !== 'enqueued' && prev === null) {
      bad('before its enqueued event');
      return;
    }
    if (e.kind !== 'progress' && prev !== null && prev !== e.status && !legalMove(prev, e.status)) bad(`${prev} → ${e.status} is not in the transition table`);
    const wasActive = prev !== null && prev !== 'completed' && prev !== 'failed' && prev !== 'cancelled';
    switch (e.kind) {
      case 'enqueued':
        if (prev !== null) bad(`a second enqueued (it was ${prev})`);
        // With dependencies it may start waiting, or ended at once by a dependency that failed or was cancelled.
        if (e.attempt !== 0 || !(IN_LINE.includes(e.status) || (st.hasDeps && ['waiting', 'failed', 'cancelled'].includes(e.status)))) {
          bad(`must be attempt 0, pending or scheduled${st.hasDeps ? ' (or waiting, failed, cancelled: it has dependencies)' : ''}`);
        }
        break;
      case 'ready':
        if (prev !== 'waiting') bad(`ready from ${prev}`);
        if (e.attempt !== st.attempt || !IN_LINE.includes(e.status)) bad(`must keep attempt ${st.attempt} and be pending or scheduled`);
        break;
      case 'started':
        if (prev === null || !IN_LINE.includes(prev)) bad(`started from ${prev}`);
        if (e.attempt !== st.attempt + 1) bad(`attempt ${e.attempt} follows attempt ${st.attempt}`);
        if (e.attempt > st.maxAttempts) bad('beyond maxAttempts');
        if (e.status !== 'processing') bad('status is not processing');
        if (!node.types.includes(st.type)) bad(`${node.name} has no handler for "${st.type}"`);
        break;
      case 'progress':
        if (!held) bad(`progress while ${prev}${st.unstarted ? ' (unstarted, lost claim)' : ''}`);
        if (e.attempt !== st.attempt) bad(`attempt ${e.attempt} during attempt ${st.attempt}`);
        if (run?.node !== node || run.attempt !== e.attempt) bad('not from the node running the attempt');
        break;
      case 'failed':
      case 'cancelled':
        if (call === 'dependent') {
          // Ended by a dependency's end, by its policy (which and why: the mirror's D3).
          if (prev !== 'waiting') bad(`a dependency ended it while it was ${prev}, not waiting`);
          if (e.attempt !== st.attempt) bad(`attempt ${e.attempt}, the job is at ${st.attempt}`);
          if (e.kind === 'failed' && !/dependency/.test(e.error ?? '')) bad(`failed by a dependency with an error that does not say so: ${e.error}`);
        } else if (e.kind === 'cancelled') this.cancelledEvent(st, e, run, held, bad);
        else this.outcomeEvent(node, st, e, run, held, bad);
        break;
      case 'completed':
      case 'retrying':
      case 'throttled':
        this.outcomeEvent(node, st, e, run, held, bad);
        break;
      case 'rescued': {
        if (prev !== 'processing') bad(`rescued while ${prev}`);
        if (e.attempt !== st.attempt) bad(`attempt ${e.attempt} during attempt ${st.attempt}`);
        const shouldFail = e.attempt >= st.maxAttempts;
        if ((e.status === 'failed') !== shouldFail) bad(`rescued to ${e.status} with ${e.attempt} of ${st.maxAttempts} attempts spent`);
        if (!shouldFail && (e.runAt === undefined || (e.status === 'pending') !== e.runAt <= e.at)) bad(`status ${e.status} does not fit runAt ${e.runAt === undefined ? 'missing' : e.runAt - this.t0}`);
        if (st.lastLeaseExpiry === null || st.lastLeaseExpiry > e.at) bad(`its lease ran until ${st.lastLeaseExpiry === null ? null : st.lastLeaseExpiry - this.t0}: taken back before it expired`);
        if (st.unstarted) {
          // The rescuer spends the attempt of a job that never started: the claim's reply was lost and
          // its node did not give the job back in time. Excused only if that node could not: it was
          // killed, or its timers ran late (a stalled node loses its running jobs' leases the same way).
          const c = st.unstarted;
          if (c.node.state === 'dead') this.counters.excusedDeadClaimant++;
          else if (c.node.lastLaggingAt >= c.at || c.node.clock.lag > 0) this.counters.excusedLaggingClaimant++;
          else {
            bad(`the attempt is spent but no handler ever started it: a claim by ${c.node.name} at ${c.at - this.t0} lost its reply and ${c.node.name} (${c.node.state}, not stalled) never gave the job back`);
            break;
          }
          st.excused++;
        } else if (!run || run.attempt !== e.attempt || run.token !== st.lastToken) bad('no handler started the attempt it spends');
        if (run && run.attempt === e.attempt) {
          // L1: a node that is alive and on time heartbeats every running job well within its lease.
          if (run.state === 'running' && (run.node.state === 'live' || run.node.state === 'stopping') && !this.recentlyLate(run.node, e.at - LATE_WINDOW_MS)) {
            bad(`its handler is still running on ${run.node.name}, which is ${run.node.state} and on time, yet its lease ran out: heartbeats stopped covering it`);
          }
          this.endRun(run, e);
        }
        break;
      }
      case 'released':
        if (prev !== 'processing') bad(`released while ${prev}`);
        if (e.attempt !== st.attempt - 1 || e.status !== 'pending') bad(`must give attempt ${st.attempt} back (pending)`);
        if (st.unstarted) {
          if (st.unstarted.node !== node) bad(`the lost claim was ${st.unstarted.node.name}'s`);
        } else {
          if (!run || run.node !== node) bad('released by a node that was not running it');
          else if (node.state !== 'stopping') bad(`a running job released by ${node.name}, which is ${node.state}, not shutting down`);
          if (run) this.endRun(run, e);
        }
        break;
      case 'retried':
        if (prev !== 'failed' && prev !== 'cancelled') bad(`retried from ${prev}`);
        if (e.attempt !== 0 || e.status !== 'pending') bad('must be attempt 0, pending');
        st.starts = 0;
        st.excused = 0;
        st.leaseLostBy = null;
        st.beforeRetry = new Set(st.runs.map((r) => `${r.node.index}:${r.attempt}`));
        break;
      default:
        // Kinds for features the simulated jobs never use: they must not appear.
        bad('the simulator has no rule for this kind, and none of its jobs should cause it');
    }
    if (e.kind !== 'progress') {
      st.status = e.kind === 'enqueued' && st.replacedTo !== null && IN_LINE.includes(e.status) ? st.replacedTo : e.status;
      // A throttle gives the attempt back, whatever its event says (checked above).
      st.attempt = e.kind === 'throttled' && prev === 'processing' ? st.attempt - 1 : e.attempt;
      st.unstarted = null;
    }
    if (e.status === 'completed' || e.status === 'failed' || e.status === 'cancelled') {
      // Long runs keep 10⁵ jobs: let finished runs (and through them dead nodes) be collected.
      st.runs = st.runs.filter((r) => r.state === 'running');
      if (st.run && st.run.state !== 'running') st.run = null;
    }
    const isActive = st.status !== 'completed' && st.status !== 'failed' && st.status !== 'cancelled';
    if (isActive !== wasActive) {
      const d = isActive ? 1 : -1;
      if (st.type === ORPHAN_TYPE) this.activeOrphans += d;
      else this.active += d;
    }
  }

  /**
   * E12: `lease_lost` reports, changes nothing and pays for no store change: from a node with the
   * handler, stamped when emitted, once per attempt and node, for an attempt whose lease is no longer
   * current, never for a job cancelled (its status is the job's as read when the loss was found).
   */
  private leaseLostEvent(node: SimNode, st: JobState, e: JobEvent): void {
    this.counters.leaseLost++;
    const bad = (msg: string) => this.bad(st, `lease_lost event (attempt ${e.attempt}, ${e.status}) from ${node.name}: ${msg}`);
    if (e.at !== this.clock.now()) bad(`stamped ${e.at - this.t0}, emitted at ${this.clock.now() - this.t0}`);
    if (!node.types.includes(st.type)) bad(`${node.name} has no handler for "${st.type}"`);
    if (e.attempt < 1) bad('for no attempt');
    if (e.status === 'cancelled') bad('for a cancelled job');
    if (e.at < st.lastAt) bad(`at ${e.at - this.t0} comes after an event at ${st.lastAt - this.t0}`);
    st.lastAt = e.at;
    const key = `${node.index}:${e.attempt}`;
    // The loss of a run from before a manual retry, reported once, whatever runs under that number now.
    if (st.beforeRetry?.delete(key)) return;
    const run = st.runs.find((r) => r.node === node && r.attempt === e.attempt);
    if (run && run.token === st.token) bad('its lease is still the current one');
    st.leaseLostBy ??= new Set();
    if (st.leaseLostBy.has(key)) bad('a second time for this attempt on this node');
    st.leaseLostBy.add(key);
  }

  /** E4: a run's own outcome (completed, retrying, failed, throttled), from the node that ran it. */
  private outcomeEvent(node: SimNode, st: JobState, e: JobEvent, run: Run | null, held: boolean, bad: (msg: string) => void): void {
    const prev = st.status;
    if (!held) bad(`an outcome while ${prev}${st.unstarted ? ' (unstarted, lost claim)' : ''}`);
    if (e.kind === 'throttled') {
      // A throttle is not a failure: back in line with the attempt given back (F6).
      if (e.attempt !== st.attempt - 1) {
        if (e.attempt === st.attempt && known('throttled-event-attempt')) this.knownBug('throttled-event-attempt');
        else bad(`must give attempt ${st.attempt} back (attempt ${st.attempt - 1}), says ${e.attempt}`);
      }
      if (!IN_LINE.includes(e.status) || e.runAt === undefined || (e.status === 'pending') !== e.runAt <= (run?.settledAt ?? e.at)) {
        bad(`status ${e.status} does not fit runAt ${e.runAt === undefined ? 'missing' : e.runAt - this.t0}`);
      }
    } else if (e.attempt !== st.attempt) bad(`attempt ${e.attempt} during attempt ${st.attempt}`);
    if (e.kind === 'retrying') {
      if (!IN_LINE.includes(e.status)) bad('retrying to a finished status');
      if (e.attempt >= st.maxAttempts) bad('retrying with no attempt left');
      // Pending only when due; scheduled when not due at the time of the decision (the handler's end).
      if (e.runAt === undefined || (e.status === 'pending' ? e.runAt > e.at : run !== null && e.runAt <= run.settledAt)) {
        bad(`status ${e.status} does not fit runAt ${e.runAt === undefined ? 'missing' : e.runAt - this.t0}`);
      }
    }
    if (e.kind === 'failed' && /no handler registered/.test(e.error ?? '')) bad('failed for lack of a handler');
    if (!run || run.node !== node || run.attempt !== st.attempt) {
      bad('not from the node running the attempt');
      return;
    }
    if (run.written) bad(`a second outcome for the run (first ${run.written})`);
    run.written = e.kind as Outcome;
    this.endRun(run, e);
    const storedAsFailure = /could not be stored/.test(e.error ?? '');
    if (storedAsFailure && !run.poison) bad('recorded as unstorable although its own outcome was storable (a batch-mate was poisoned?)');
    if (!storedAsFailure && run.poison && run.expect !== null) bad('a poison outcome stored as it was');
    if (e.kind === 'completed') st.completedEver = true;
  }

  /** E7: a user's cancel (a dependency's is a `dependent` change). */
  private cancelledEvent(st: JobState, e: JobEvent, run: Run | null, held: boolean, bad: (msg: string) => void): void {
    const prev = st.status;
    if (prev === null || !['waiting', 'scheduled', 'pending', 'processing'].includes(prev)) bad(`cancelled from ${prev}`);
    if (e.attempt !== st.attempt) bad(`attempt ${e.attempt}, the job is at ${st.attempt}`);
    if (st.unstarted) {
      // Cancelled while a lost claim held it: the claim's attempt stays counted on a job that never ran.
      st.excused++;
      this.counters.excusedCancelledUnstarted++;
    }
    if (held && run) this.endRun(run, e);
  }

  knownBug(id: string): void {
    this.knownBugs.set(id, (this.knownBugs.get(id) ?? 0) + 1);
  }

  private endRun(run: Run, e: JobEvent): void {
    if (run.endedBy !== null) return;
    run.endedBy = e.kind;
    run.endedAt = e.at;
  }

  // ─── Handlers ─────────────────────────────────────────────────────────────

  handlerStarted(node: SimNode, job: LeasedJob<WorkPayload>, attempt: number): Run {
    this.counters.runs++;
    const st = this.jobs.get(job.id);
    const now = this.clock.now();
    const run: Run = {
      job: st!,
      node,
      token: job.leaseToken,
      attempt: job.attempts,
      payload: job.payload,
      startedAt: now,
      leaseValidUntil: job.leaseExpiresAt ?? 0,
      state: 'running',
      expect: null,
      poison: false,
      settledAt: 0,
      lastCoveredAt: -Infinity,
      lostAt: null,
      submittedAt: null,
      submittedCurrent: false,
      written: null,
      endedBy: null,
      endedAt: 0,
    };
    if (!st) {
      this.violate(`${node.name} started a handler for job ${job.id}, which the store never reported inserting`);
      return run;
    }
    this.touched.add(st);
    this.note(st, `run:${job.attempts} on ${node.name}`);
    if (node.state === 'dead') this.bad(st, `a handler started on ${node.name}, which is dead`);
    if (!node.types.includes(job.type)) this.bad(st, `${node.name} ran a "${job.type}" job without a handler for it`);
    if (st.completedEver) this.bad(st, `completed job ran again on ${node.name}`);
    if (attempt !== job.attempts) this.bad(st, `ctx.attempt ${attempt} but the job says ${job.attempts}`);
    if (st.status !== 'processing' || st.unstarted || st.attempt !== job.attempts) this.bad(st, `handler started for attempt ${job.attempts} but the events say ${st.status} attempt ${st.attempt}`);
    if (st.token !== job.leaseToken) this.bad(st, `handler started under a lease that is not current`);
    for (const other of st.runs) {
      if (other.state !== 'running' || other.node.state === 'dead' || other.endedBy === 'cancelled') continue;
      if (other.leaseValidUntil > now) this.bad(st, `started on ${node.name} while ${other.node.name} held a lease valid until ${other.leaseValidUntil - this.t0}`);
    }
    st.runs = st.runs.filter((r) => r.state === 'running' && r.node.state !== 'dead');
    st.runs.push(run);
    st.run = run;
    st.starts++;
    node.running.add(run);
    return run;
  }

  /**
   * The handler returned (ok) or threw (`throttled`: a RateLimitedError). `aborted`: its signal had
   * fired, so the pool discards what it says.
   */
  runSettled(run: Run, ok: boolean, aborted: boolean, throttled = false): void {
    if (run.state !== 'running') return;
    run.node.running.delete(run);
    if (aborted) {
      run.state = 'aborted';
      return;
    }
    const p = run.payload;
    run.state = 'settled';
    run.settledAt = this.clock.now();
    if (throttled) run.expect = 'throttled';
    else if (ok) {
      run.poison = p?.poison === 'result';
      run.expect = run.poison ? 'failed' : 'completed';
    } else {
      run.poison = p?.poison === 'nul' || p?.poison === 'surrogate';
      run.expect = run.poison || p?.permanent || run.attempt >= run.job.maxAttempts ? 'failed' : 'retrying';
    }
    this.settledRuns.push(run);
    this.unsubmitted.set(`${run.job.id} ${run.token}`, run);
  }

  /** The run's signal fired. A timeout settles it as a failure (the pool writes it); anything else abandons it. */
  runAborted(run: Run, reason: unknown): void {
    if (run.state !== 'running') return;
    run.node.running.delete(run);
    if (reason !== 'timeout') {
      run.state = 'aborted';
      return;
    }
    run.state = 'settled';
    run.settledAt = this.clock.now();
    run.expect = run.attempt >= run.job.maxAttempts ? 'failed' : 'retrying';
    this.settledRuns.push(run);
    this.unsubmitted.set(`${run.job.id} ${run.token}`, run);
  }

  // ─── Checks ───────────────────────────────────────────────────────────────

  /** After every step: the jobs touched in it, the runs that settled in it, and the leases still out. */
  async endOfStep(): Promise<void> {
    this.mirror.replay();
    for (const run of this.settledRuns) this.checkSettledRun(run);
    this.settledRuns = [];
    for (const run of this.heartbeatChecks) {
      // H1: a heartbeat covers every handler running on the node when it starts.
      if (run.state === 'running' && run.startedAt < run.node.lastHeartbeatAt && run.lastCoveredAt < run.node.lastHeartbeatAt) {
        this.bad(run.job, `the heartbeat of ${run.node.name} at ${run.node.lastHeartbeatAt - this.t0} left out attempt ${run.attempt}, whose handler is still running there: its lease will run out under it`);
      }
      // H2: a heartbeat after a running handler's lease was lost (rescued, cancelled…) abandons it (lease_lost).
      if (run.state === 'running' && run.node.state !== 'dead' && run.lostAt !== null && run.node.lastHeartbeatAt >= run.lostAt) {
        this.bad(run.job, `attempt ${run.attempt} on ${run.node.name} lost its lease at ${run.lostAt - this.t0}, but its handler still runs after a heartbeat at ${run.node.lastHeartbeatAt - this.t0} (its signal never fired)`);
        run.node.running.delete(run);
        run.state = 'aborted';
      }
    }
    this.heartbeatChecks.clear();
    const touched = this.touched;
    this.touched = new Set();
    for (const st of touched) await this.checkJob(st, false);
    // Untouched processing jobs changed only by extensions (reported, and held against the store at
    // their next touch), so the shadow's expiry is the store's.
    for (const st of this.processing) {
      if (!touched.has(st) && (st.leaseExpiry ?? 0) <= this.lastRescueAt) {
        this.bad(st, `still processing with a lease that expired at ${(st.leaseExpiry ?? 0) - this.t0}, before the rescue at ${this.lastRescueAt - this.t0}`);
      }
    }
    if (this.owedCount !== 0) this.violate(`${this.owedCount} store changes are still owed their event at the end of the step`);
    if (++this.steps % 1000 === 0) {
      for (const [token, claim] of this.lostClaims) if (!claim.jobs.some((st) => st.token === token)) this.lostClaims.delete(token);
    }
  }

  /** Whether the node's timers were late at any time since `since` (lastLaggingAt is when its last lag ended). */
  private recentlyLate(node: SimNode, since: number): boolean {
    return node.clock.lag > 0 || node.lastLaggingAt >= since;
  }

  /**
   * O1: a run that settled had its outcome sent to the store; if its lease was still current then,
   * the outcome it was due (exactly that one) was written. Checked at the end of the step it settled in.
   */
  private checkSettledRun(run: Run): void {
    const st = run.job;
    if (run.node.state === 'dead') {
      this.unsubmitted.delete(`${st.id} ${run.token}`);
      return; // killed before it could write: the rescuer's business
    }
    const what = `its handler on ${run.node.name} ${run.expect === 'completed' ? 'succeeded' : 'ended'} at ${run.settledAt - this.t0} (attempt ${run.attempt}, ${run.expect} due)`;
    if (run.submittedAt === null) {
      this.unsubmitted.delete(`${st.id} ${run.token}`);
      this.bad(st, `${what} but by the end of the step the pool had not sent its outcome to the store`);
    } else if (run.submittedCurrent) {
      if (run.written === null) this.bad(st, `${what}; its outcome went to the store under its current lease at ${run.submittedAt - this.t0} but was never written: the job is left to lease expiry`);
      else if (run.written !== run.expect) this.bad(st, `${what} but ${run.written} was written`);
    }
  }

  private async checkJob(st: JobState, final: boolean): Promise<Job | null> {
    const j: Job | null = await this.store.jobGet(st.id);
    if (!j) {
      this.bad(st, 'acknowledged job is missing from the store');
      return null;
    }
    if (!JOB_STATUSES.includes(j.status)) this.bad(st, `unknown status ${j.status}`);
    if (j.attempts > j.maxAttempts) this.bad(st, `${j.attempts} attempts of ${j.maxAttempts}`);
    if (st.seen && !reachable(st.seen, j.status)) this.bad(st, `moved ${st.seen} → ${j.status}, not along the transition table`);
    st.seen = j.status;
    if (st.owed.length > 0) {
      const o = st.owed[0]!;
      this.bad(st, `the store reported a ${o.call} (to ${o.status}, attempt ${o.attempt}) to ${o.node.name}, and no event followed`);
      this.owedCount -= st.owed.length;
      st.owed = [];
    }
    const agrees = st.status === j.status || (st.status === 'scheduled' && j.status === 'pending');
    if (!agrees || st.attempt !== j.attempts) this.bad(st, `the store says ${j.status} with ${j.attempts} attempts; the events say ${st.status} with ${st.attempt}`);
    // The mirror replays the store's commits (promotions of due jobs included, which only a claim makes): it must be the store.
    const m = st.m;
    if (m?.promoted && j.status === 'scheduled' && this.storeKind === 'memory' && known('memory-due-not-promoted')) this.knownBug('memory-due-not-promoted');
    else if (m && (m.status !== j.status || m.attempts !== j.attempts || (IN_LINE.includes(j.status) && (m.runAt !== j.runAt || m.priority !== j.priority)))) {
      this.bad(st, `the store says ${j.status} with ${j.attempts} attempts, runAt ${j.runAt - this.t0}, priority ${j.priority}; its commits, replayed, say ${m.status} with ${m.attempts}, runAt ${m.runAt - this.t0}, priority ${m.priority}`);
    }
    // A lost claim's attempt is not spent while the claim holds the job: it is given back or excused (A2).
    if (j.attempts > st.starts + st.excused + (st.unstarted ? 1 : 0)) {
      this.bad(st, `${j.attempts} attempts spent but handlers started it ${st.starts} times${st.excused ? ` (+${st.excused} excused)` : ''} since it was last put back in line: an attempt was spent without its handler starting`);
    }
    if (j.status === 'processing') {
      if (j.leaseExpiresAt !== st.leaseExpiry) this.bad(st, `the store's lease runs until ${j.leaseExpiresAt === null ? null : j.leaseExpiresAt - this.t0}; the replies said ${st.leaseExpiry === null ? null : st.leaseExpiry - this.t0}`);
      if ((j.leaseExpiresAt ?? 0) <= this.lastRescueAt) this.bad(st, `still processing with a lease that expired at ${(j.leaseExpiresAt ?? 0) - this.t0}, before the rescue at ${this.lastRescueAt - this.t0}`);
      this.processing.add(st);
    } else {
      this.processing.delete(st);
      if (j.leaseExpiresAt !== null) this.bad(st, `${j.status} but holds a lease until ${j.leaseExpiresAt - this.t0}`);
    }
    if (st.type === ORPHAN_TYPE && (j.attempts !== 0 || !['pending', 'scheduled', 'cancelled'].includes(j.status))) {
      this.bad(st, `no node has a handler for "${ORPHAN_TYPE}", yet it is ${j.status} with ${j.attempts} attempts`);
    }
    if (final && j.status === 'processing') this.bad(st, 'still processing after every node stopped: stuck');
    return j;
  }

  /** At the end: every job, whether or not it was touched lately. Returns the jobs by status. `drained`: S6 applies. */
  async finalSweep(drained: boolean): Promise<Record<JobStatus, number>> {
    await this.endOfStep();
    const counts = zeroCounts();
    for (const st of this.list) {
      const j = await this.checkJob(st, drained);
      if (j) counts[j.status]++;
    }
    for (const [token, claim] of this.lostClaims) {
      const held = claim.jobs.filter((st) => st.token === token);
      if (held.length > 0) this.violate(`a lost claim of ${claim.node.name} at ${claim.at - this.t0} still holds jobs #${held.map((s) => s.n).join(', #')}`);
    }
    return counts;
  }

  /** Jobs by status, as the store has them now. */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = zeroCounts();
    for (const st of this.list) {
      const j = await this.store.jobGet(st.id);
      if (j) counts[j.status]++;
    }
    return counts;
  }
}
