/**
 * The mirror: the simulator's replica of what the store holds, rebuilt from
 * every change the store reported to any node, replayed in commit order (each
 * report carries its call's commit number; see store-view.ts) at the end of
 * each step. The event view (model.ts) follows each node's events; the mirror
 * follows the store's commits, so it can say what was true at the instant of
 * each commit: which jobs held a key, which dependencies had completed, how
 * many jobs of a key were processing, what started in a rate window. It is
 * held against the store itself for every job touched in a step (model.ts
 * checkJob), so a wrong mirror is itself a violation, never a silent pass.
 *
 * Checked here (the rules are listed in simulator.ts's header): unique keys
 * (K1–K3) and dependencies (D1–D4); flow control is flow-checks.ts's, cron
 * slots cron-checks.ts's.
 */
import { isJobqError } from '../../src/contracts/errors.js';
import { isFinished, type DependencyPolicy, type JobStatus } from '../../src/contracts/job.js';
import { hasLimits, type ClaimedJobs, type DependentChange, type InsertResult, type JobChangeParams, type JobChangeResult, type JobClaimParams, type JobFinishManyParams, type JobInsertManyParams, type JobRef, type QueueSettings } from '../../src/contracts/store.js';
import { CronChecks } from './cron-checks.js';
import { FlowChecks } from './flow-checks.js';
import type { JobState } from './model.js';

export interface MirrorJob {
  st: JobState;
  id: string;
  queue: string;
  type: string;
  status: JobStatus;
  attempts: number;
  runAt: number;
  priority: number;
  token: string | null;
  key: string | null;
  keyUntil: number | null;
  concurrencyKey: string | null;
  rateKey: string | null;
  deps: MirrorJob[];
  dependents: MirrorJob[];
  policy: DependencyPolicy;
  /** Put back in line by a manual retry at least once: its dependencies no longer bind it (D2). */
  retriedByHand: boolean;
  /** How many times it ended (completed, failed or cancelled; a manual retry can make it end again). */
  ends: number;
  /** Pending because a claim found it due (scheduled, runAt passed), not because a reply said so. */
  promoted: boolean;
  /** Keyless and, on SQLite, stored with no concurrency key rather than the keyless group '' (inserted while its queue had no limits, and not active when limits came). */
  nullKey: boolean;
  /** Per dependency, when this job was enqueued: whether it had ended then, and its `ends`. */
  depsAtLink: { ended: boolean; ends: number }[];
}

export interface MirrorCounters {
  /** Claims of a job whose dependencies had not all completed, excused because a user retried it by hand (see D2). */
  depsOverriddenByRetry: number;
  /** Waiting jobs moved by a dependency's end (ready, failed or cancelled). */
  dependentsMoved: number;
  /** Enqueues answered with the holder of the key (and how many replaced it). */
  deduplicated: number;
  replaced: number;
  retriesRefusedByKey: number;
}

export type Bad = (st: JobState | undefined, msg: string) => void;

const IN_LINE: readonly JobStatus[] = ['pending', 'scheduled'];
const active = (s: JobStatus) => !isFinished(s);

export class Mirror {
  readonly jobs = new Map<string, MirrorJob>();
  readonly flow: FlowChecks;
  readonly cron: CronChecks;
  readonly counters: MirrorCounters = { depsOverriddenByRetry: 0, dependentsMoved: 0, deduplicated: 0, replaced: 0, retriesRefusedByKey: 0 };
  /** The job that holds each key (it may have finished: it holds it until its keyUntil). */
  private readonly holders = new Map<string, MirrorJob>();
  private pending: { seq: number; apply: () => void }[] = [];

  constructor(
    private readonly bad: Bad,
    private readonly violate: (msg: string) => void,
    private readonly stateOf: (id: string) => JobState | undefined,
    knownBug: (id: string) => void,
    private readonly touch: (st: JobState) => void,
    t0: number,
    store: 'memory' | 'sqlite',
  ) {
    this.flow = new FlowChecks(bad, violate, knownBug, t0, store);
    this.cron = new CronChecks(bad, violate, t0);
  }

  /** Queues a reported commit; replay() applies them in commit order. */
  record(seq: number, apply: () => void): void {
    this.pending.push({ seq, apply });
  }

  /** Applies the commits reported in this step, in commit order. */
  replay(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.sort((a, b) => a.seq - b.seq);
    this.pending = [];
    for (const c of batch) c.apply();
  }

  private get(id: string, what: string): MirrorJob | undefined {
    const m = this.jobs.get(id);
    if (!m) this.violate(`${what} names job ${id}, which the mirror never saw inserted`);
    return m;
  }

  private setStatus(m: MirrorJob, status: JobStatus): void {
    if (m.status === status) return;
    m.promoted = false;
    if (isFinished(status)) m.ends++;
    this.flow.statusChanged(m, m.status, status);
    m.status = status;
  }

  /** Whether `m` holds its key at `now`: while active, and past its end until its keyUntil. */
  private holds(m: MirrorJob, now: number): boolean {
    return active(m.status) || (m.keyUntil !== null && m.keyUntil > now);
  }

  // ─── Inserts: keys, initial status by dependencies, cron slots ─────────────

  insert(p: JobInsertManyParams, r: InsertResult): void {
    const dedup = new Map(r.deduplicated.map((d) => [d.index, d]));
    const initial = new Map(r.initial.map((s) => [s.index, s.status]));
    // A record whose key was held was never stored: a later record of the batch that depends on it depends on the holder.
    const holderOf = new Map<string, string>();
    p.jobs.forEach((rec, index) => {
      const now = rec.createdAt;
      const d = dedup.get(index);
      if (d) {
        holderOf.set(rec.id, d.job.id);
        this.counters.deduplicated++;
        const h = this.get(d.job.id, 'a deduplicated enqueue');
        if (!h) return;
        // K2: the answer is the job that holds the key now, and 'replace' replaces exactly a holder that has not started.
        if (rec.key === null || h.key !== rec.key) this.bad(h.st, `returned as the holder of key ${rec.key} but its key is ${h.key}`);
        else if (this.holders.get(rec.key) !== h || !this.holds(h, now)) {
          this.bad(h.st, `returned as the holder of key "${rec.key}" at ${now - this.flow.t0}, but it is ${h.status} and its hold ${h.keyUntil === null ? 'ended with it' : `ran until ${h.keyUntil - this.flow.t0}`}: the enqueue should have created a job`);
        }
        const replace = rec.onConflict === 'replace' && IN_LINE.includes(h.status);
        if (d.replaced !== replace) this.bad(h.st, `onConflict ${rec.onConflict} on a holder that is ${h.status}: replaced should be ${replace}, the store says ${d.replaced}`);
        if (d.replaced) {
          this.counters.replaced++;
          h.runAt = rec.runAt;
          h.priority = rec.priority;
          this.setStatus(h, rec.runAt <= now ? 'pending' : 'scheduled');
        }
        return;
      }
      const st = this.stateOf(rec.id);
      if (!st) return; // the model reported it
      const m: MirrorJob = {
        st,
        id: rec.id,
        queue: rec.queue,
        type: rec.type,
        status: initial.get(index) ?? rec.status,
        attempts: 0,
        runAt: rec.runAt,
        priority: rec.priority,
        token: null,
        key: rec.key,
        keyUntil: rec.keyUntil,
        concurrencyKey: rec.concurrencyKey,
        rateKey: rec.rateKey,
        deps: [],
        dependents: [],
        policy: rec.onDependencyFailure,
        retriedByHand: false,
        ends: 0,
        promoted: false,
        nullKey: rec.concurrencyKey === null && !this.flow.limited(rec.queue),
        depsAtLink: [],
      };
      // Two records deduplicated to one holder make one dependency.
      for (const id of new Set((rec.dependsOn ?? []).map((named) => holderOf.get(named) ?? named))) {
        const dep = this.get(id, `job #${st.n}'s dependsOn`);
        if (!dep) continue;
        m.deps.push(dep);
        m.depsAtLink.push({ ended: !active(dep.status), ends: dep.ends });
        dep.dependents.push(m);
      }
      if (isFinished(m.status)) m.ends = 1;
      this.jobs.set(m.id, m);
      st.m = m;
      this.flow.statusChanged(m, null, m.status);
      // K1: never two active jobs with one key, nor a new one while a finished holder is within its uniqueForMs.
      if (rec.key !== null) {
        const h = this.holders.get(rec.key);
        if (h && this.holds(h, now)) {
          this.bad(st, `inserted with key "${rec.key}" while job #${h.st.n} holds it (${h.status}${h.keyUntil === null ? '' : `, held until ${h.keyUntil - this.flow.t0}`}): two jobs with one key`);
        }
        this.holders.set(rec.key, m);
        this.cron.slotInserted(m, rec.key, now);
      }
      // D1: a new job waits while a dependency is unfinished, and ends at once by its policy if one already failed or was cancelled.
      const want = this.startStatus(m, rec.status);
      if (m.status !== want) this.bad(st, `inserted ${m.status}; with dependencies ${m.deps.map((x) => `#${x.st.n} ${x.status}`).join(', ')} and policy ${m.policy} it should be ${want}`);
    });
  }

  private startStatus(m: MirrorJob, asked: JobStatus): JobStatus {
    if (m.policy !== 'ignore' && m.deps.some((d) => d.status === 'failed' || d.status === 'cancelled')) return m.policy === 'fail' ? 'failed' : 'cancelled';
    return m.deps.some((d) => active(d.status)) ? 'waiting' : asked;
  }

  /** New flow-control settings; on SQLite, the active keyless jobs of a queue coming under limits join the keyless group. */
  configure(name: string, settings: QueueSettings): void {
    this.flow.configure(name, settings);
    if (!hasLimits(settings)) return;
    for (const m of this.jobs.values()) if (m.queue === name && m.nullKey && active(m.status)) m.nullKey = false;
  }

  // ─── Claims: only ready jobs, dependencies completed; flow control ────────

  claim(p: JobClaimParams, jobs: ClaimedJobs): void {
    this.flow.promote(p.queue, p.now, (m) => {
      this.setStatus(m, 'pending');
      m.promoted = true;
      this.touch(m.st); // held against the store at the end of the step
    });
    const picked: MirrorJob[] = [];
    for (const j of jobs) {
      const m = this.get(j.id, 'a claim reply');
      if (!m) continue;
      if (m.status !== 'pending') this.bad(m.st, `claimed while the store had it ${m.status}${m.status === 'scheduled' ? ` until ${m.runAt - this.flow.t0}` : ''} (mirror, in commit order)`);
      // D2: nothing starts before its dependencies completed ('ignore': ended, checked when it left waiting).
      const open = m.deps.filter((d) => d.status !== 'completed');
      if (open.length > 0 && m.policy !== 'ignore') {
        if (m.retriedByHand) this.counters.depsOverriddenByRetry++;
        else this.bad(m.st, `started while its dependencies ${open.map((d) => `#${d.st.n} (${d.status})`).join(', ')} had not completed (policy ${m.policy})`);
      }
      if (j.startedAt !== p.now) this.bad(m.st, `the store recorded its start at ${j.startedAt === null ? null : j.startedAt - this.flow.t0}, the claim ran at ${p.now - this.flow.t0}`);
      m.attempts = j.attempts;
      m.token = p.leaseToken;
      picked.push(m);
    }
    this.flow.claimed(p, jobs, picked);
    for (const m of picked) this.setStatus(m, 'processing');
    this.flow.afterClaim(p, picked);
  }

  // ─── Finishes, releases, cancels, retries ─────────────────────────────────

  finished(p: JobFinishManyParams, refs: readonly JobRef[]): void {
    for (const ref of refs) {
      const m = this.get(ref.id, 'a finish reply');
      if (!m) continue;
      const f = p.finishes.find((x) => x.id === ref.id && x.leaseToken === m.token) ?? p.finishes.find((x) => x.id === ref.id)!;
      const o = f.outcome;
      m.token = null;
      if (o.kind === 'completed' || o.kind === 'failed') {
        this.setStatus(m, o.kind);
        this.cascade(m, ref.dependents ?? [], p.now);
        continue;
      }
      if (ref.dependents?.length) this.bad(m.st, `back in line (${o.kind}), yet the store moved its dependents`);
      m.runAt = o.runAt;
      if (o.kind === 'throttled') {
        // A throttle is not a failure: the attempt is given back (F6), and its key or the queue is held (F3).
        m.attempts--;
        this.flow.held(m, o.holdKey, o.runAt, p.now);
      }
      this.setStatus(m, o.status);
    }
  }

  released(refs: readonly JobRef[], now: number): void {
    for (const ref of refs) {
      const m = this.get(ref.id, 'a release reply');
      if (!m) continue;
      m.token = null;
      m.attempts--;
      m.runAt = now;
      this.setStatus(m, 'pending');
    }
  }

  cancelled(p: JobChangeParams, r: JobChangeResult): void {
    if (!r.job) return;
    const m = this.get(r.job.id, 'a cancel reply');
    if (!m) return;
    m.token = null;
    this.setStatus(m, 'cancelled');
    this.cascade(m, r.dependents ?? [], p.now);
  }

  retried(p: JobChangeParams, r: JobChangeResult): void {
    if (!r.job) return;
    const m = this.get(r.job.id, 'a retry reply');
    if (!m) return;
    // K3: a retried job takes its key back only if no other job holds it.
    if (m.key !== null) {
      const h = this.holders.get(m.key);
      if (h && h !== m && this.holds(h, p.now)) this.bad(m.st, `retried by hand and back in line with key "${m.key}" while job #${h.st.n} holds it (${h.status}): two jobs with one key`);
      this.holders.set(m.key, m);
    }
    m.retriedByHand = true;
    m.attempts = 0;
    m.runAt = p.now;
    this.setStatus(m, 'pending');
  }

  retryRefused(p: JobChangeParams, err: unknown): void {
    if (!isJobqError(err, 'conflict')) return;
    this.counters.retriesRefusedByKey++;
    const m = this.jobs.get(p.id);
    const h = m?.key ? this.holders.get(m.key) : undefined;
    if (!m || !h || h === m || !this.holds(h, p.now)) this.bad(m?.st, `a manual retry was refused with conflict, but no other job holds its key ${m?.key ?? '(none)'}`);
  }

  /**
   * D3/D4: a job ended (completed, failed, cancelled); in the same transaction its waiting dependents
   * move: ready once every dependency completed (under 'ignore': ended; a dependency retried by hand
   * is unfinished again, so it holds its waiting dependents back until it ends again),
   * or ended by their policy when this one failed or was cancelled, and so on down the chain. The
   * store's report must be exactly that.
   */
  private cascade(job: MirrorJob, reported: readonly DependentChange[], now: number): void {
    const want = new Map<MirrorJob, { status: JobStatus; by: MirrorJob }>();
    const statusOf = (m: MirrorJob) => want.get(m)?.status ?? m.status;
    /** Whether dependency i of d has ended (under 'ignore' that is all d waits for; one retried by hand is unfinished again). */
    const ended = (d: MirrorJob, i: number) => isFinished(statusOf(d.deps[i]!));
    const todo: MirrorJob[] = [job];
    while (todo.length > 0) {
      const dep = todo.shift()!;
      const depStatus = statusOf(dep);
      for (const d of dep.dependents) {
        if (statusOf(d) !== 'waiting') continue;
        if (depStatus === 'completed' || d.policy === 'ignore') {
          const done = d.deps.every((x, i) => (d.policy === 'ignore' ? ended(d, i) : statusOf(x) === 'completed'));
          if (done) want.set(d, { status: d.runAt <= now ? 'pending' : 'scheduled', by: dep });
        } else {
          want.set(d, { status: d.policy === 'fail' ? 'failed' : 'cancelled', by: dep });
          todo.push(d);
        }
      }
    }
    const seen = new Set<MirrorJob>();
    for (const c of reported) {
      const d = this.get(c.id, 'a dependent change');
      if (!d) continue;
      seen.add(d);
      this.counters.dependentsMoved++;
      const w = want.get(d);
      if (d.status !== 'waiting') this.bad(d.st, `moved to ${c.status} by dependency ${c.dependency}, but it was ${d.status}, not waiting`);
      else if (!w) {
        const open = d.deps.filter((x, i) => (d.policy === 'ignore' ? !ended(d, i) : statusOf(x) !== 'completed'));
        this.bad(d.st, `moved to ${c.status} when job #${job.st.n} ended ${job.status}, but it should still wait: dependencies ${(open.length ? open : d.deps).map((x) => `#${x.st.n} (${statusOf(x)}${d.policy === 'ignore' ? ', never ended' : ''})`).join(', ')} (policy ${d.policy})`);
      } else if (w.status !== c.status) this.bad(d.st, `moved to ${c.status} when job #${job.st.n} ended ${job.status}; with policy ${d.policy} it should be ${w.status}`);
      else if (!d.deps.some((x) => x.id === c.dependency && (x === job || want.has(x)))) {
        // Which one "decided" when several ended in this transaction is the store's to say; one of them it must be.
        this.bad(d.st, `the store says dependency ${c.dependency} moved it, which is not one of its dependencies that ended in this transaction (job #${job.st.n} did)`);
      }
      this.setStatus(d, c.status);
    }
    for (const [d, w] of want) {
      if (!seen.has(d)) this.bad(d.st, `should have become ${w.status} in the transaction that ended job #${w.by.st.n} (${statusOf(w.by)}), but it was left ${d.status} (policy ${d.policy}; dependencies ${d.deps.map((x) => `#${x.st.n} ${statusOf(x)}`).join(", ")})`);
    }
  }
}
