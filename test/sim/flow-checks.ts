/**
 * Flow control (issue #12), checked on the mirror in commit order: what the
 * store held processing, what it started and when (each job's startedAt as
 * the store recorded it), the holds throttled jobs set, the settings in force
 * at each claim. The rules (F1–F6) are listed in simulator.ts's header.
 *
 * Settings change mid-run. A limit binds the claims committed after the
 * configure that set it; a rate window counts the starts committed since that
 * configure (the stores record starts only while a rate limit is set, so
 * starts from before it are not theirs to count), which never makes the check
 * stricter than the store. Fairness (F4) and idleness (F5) are liveness rules:
 * they count a key as deserving a job only when no limit the store knows of
 * could hold it back, counting every start in its window whatever the epoch,
 * so they never ask more of the store than it can see.
 */
import type { JobStatus } from '../../src/contracts/job.js';
import { hasLimits, NO_LIMITS, type ClaimedJobs, type JobClaimParams, type QueueSettings } from '../../src/contracts/store.js';
import { known } from './known-bugs.js';
import type { Bad, MirrorJob } from './mirror.js';
import { MAX_LAG_MS, type SimNode } from './model.js';

/**
 * F4: claims that start jobs while a key with ready jobs and free capacity gets none, before that key
 * must get one. Keys with nothing running get a slot first, in round-robin order from the cursor (the
 * least used take the rest), so a claim that skips a deserving key (nothing running) moves at least
 * one key ahead of it behind it:
 * with the simulator's five groups (keys a–d and the keyless one) four claims at most.
 */
export const STARVATION_BOUND = 4;
/** F5: drain steps (100 ms each, five poll intervals) that a job which could start may sit idle. */
export const IDLE_STEPS = 5;
/** Beyond MAX_LAG_MS: a node whose timers ran late this much longer ago has no late wake-up (its poll) pending. */
const LATE_SLACK_MS = 200;
/** Starts kept per window: longer than any interval the simulator configures. */
const WINDOW_KEEP_MS = 5000;

interface Start {
  at: number;
  /** Commit order of the start among all starts. */
  no: number;
}

interface QueueFlow {
  settings: QueueSettings;
  /** The start number from which each rate limit counts (the configure that set it). */
  rateEpoch: number;
  keyRateEpoch: number;
  processing: Set<MirrorJob>;
  runningByKey: Map<string | null, number>;
  /** Jobs in line (pending or scheduled), by concurrency key. */
  inLine: Map<string | null, Set<MirrorJob>>;
  scheduled: Set<MirrorJob>;
  starts: Start[];
  keyStarts: Map<string, Start[]>;
  /** Holds by rate key; '' holds the whole queue. */
  holds: Map<string, number>;
  /** F4: claims in a row that skipped each deserving group. */
  skipped: Map<string | null, number>;
  idleSteps: number;
  /** The start number at the last idle check (F5 counts steps in which nothing started). */
  startsAtCheck: number;
}

export interface FlowCounters {
  limitedClaims: number;
  configures: number;
  throttles: number;
  holdsSet: number;
  /** The most claims in a row that skipped a deserving key (F4 allows STARVATION_BOUND). */
  maxSkipped: number;
}

const inLine = (s: JobStatus | null) => s === 'pending' || s === 'scheduled';

export class FlowChecks {
  private readonly queues = new Map<string, QueueFlow>();
  private startNo = 0;
  readonly counters: FlowCounters = { limitedClaims: 0, configures: 0, throttles: 0, holdsSet: 0, maxSkipped: 0 };

  constructor(
    private readonly bad: Bad,
    private readonly violate: (msg: string) => void,
    private readonly knownBug: (id: string) => void,
    readonly t0: number,
    private readonly store: 'memory' | 'sqlite',
  ) {}

  /** Known bugs (known-bugs.ts) that hide a ready job from this store's claims: the liveness rules leave such jobs out. */
  private hidden(m: MirrorJob): string | null {
    if (this.store === 'memory' && m.promoted && known('memory-due-not-promoted')) return 'memory-due-not-promoted';
    if (this.store === 'sqlite' && m.nullKey && hasLimits(this.q(m.queue).settings) && known('sqlite-keyless-retried-invisible')) return 'sqlite-keyless-retried-invisible';
    return null;
  }

  /** Whether the liveness rules (F4, F5) count `m` as ready at `now`. */
  private ready(m: MirrorJob, now: number): boolean {
    return (m.status === 'pending' || (m.status === 'scheduled' && m.runAt <= now)) && this.hidden(m) === null;
  }

  /** Whether the queue is under limits (SQLite labels keyless jobs inserted then with the keyless group ''). */
  limited(queue: string): boolean {
    return hasLimits(this.q(queue).settings);
  }

  private q(name: string): QueueFlow {
    let q = this.queues.get(name);
    if (!q) {
      q = { settings: NO_LIMITS, rateEpoch: 0, keyRateEpoch: 0, processing: new Set(), runningByKey: new Map(), inLine: new Map(), scheduled: new Set(), starts: [], keyStarts: new Map(), holds: new Map(), skipped: new Map(), idleSteps: 0, startsAtCheck: 0 };
      this.queues.set(name, q);
    }
    return q;
  }

  configure(name: string, settings: QueueSettings): void {
    const q = this.q(name);
    this.counters.configures++;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(q.settings.rateLimit, settings.rateLimit)) q.rateEpoch = this.startNo;
    if (!same(q.settings.perKeyRateLimit, settings.perKeyRateLimit)) q.keyRateEpoch = this.startNo;
    q.settings = settings;
  }

  statusChanged(m: MirrorJob, from: JobStatus | null, to: JobStatus): void {
    const q = this.q(m.queue);
    if (from === 'processing') {
      q.processing.delete(m);
      q.runningByKey.set(m.concurrencyKey, (q.runningByKey.get(m.concurrencyKey) ?? 1) - 1);
    }
    if (to === 'processing') {
      q.processing.add(m);
      q.runningByKey.set(m.concurrencyKey, (q.runningByKey.get(m.concurrencyKey) ?? 0) + 1);
    }
    if (inLine(from) && !inLine(to)) q.inLine.get(m.concurrencyKey)?.delete(m);
    if (!inLine(from) && inLine(to)) {
      let set = q.inLine.get(m.concurrencyKey);
      if (!set) q.inLine.set(m.concurrencyKey, (set = new Set()));
      set.add(m);
    }
    if (to === 'scheduled') q.scheduled.add(m);
    else q.scheduled.delete(m);
  }

  /** A claim promotes its queue's due scheduled jobs to pending (both stores do, in the claim's transaction). */
  promote(queue: string, now: number, toPending: (m: MirrorJob) => void): void {
    const q = this.queues.get(queue);
    if (!q) return;
    for (const m of [...q.scheduled]) if (m.runAt <= now) toPending(m);
  }

  held(m: MirrorJob, holdKey: string | null, until: number, now: number): void {
    const q = this.q(m.queue);
    this.counters.throttles++;
    if (until > now) this.counters.holdsSet++;
    const k = holdKey ?? '';
    q.holds.set(k, Math.max(q.holds.get(k) ?? -Infinity, until));
  }

  private window(list: readonly Start[] | undefined, now: number, intervalMs: number, epoch: number): number {
    let n = 0;
    for (let i = (list?.length ?? 0) - 1; i >= 0; i--) {
      const s = list![i]!;
      if (s.at <= now - intervalMs) break;
      if (s.no >= epoch) n++;
    }
    return n;
  }

  private recordStart(list: Start[], at: number, no: number): void {
    list.push({ at, no });
    if (list.length > 64 && list[0]!.at < at - WINDOW_KEEP_MS) {
      const keep = list.findIndex((s) => s.at >= at - WINDOW_KEEP_MS);
      list.splice(0, keep < 0 ? list.length : keep);
    }
  }

  /** Before the picks are processing: holds (F3), rate windows (F2), fairness (F4). */
  claimed(p: JobClaimParams, jobs: ClaimedJobs, picked: readonly MirrorJob[]): void {
    const q = this.q(p.queue);
    const s = q.settings;
    const limited = hasLimits(s);
    if (limited) this.counters.limitedClaims++;
    const at = (t: number) => t - this.t0;
    for (const m of picked) {
      // F3: nothing of a held rate key (or of a held queue) starts before the hold ends.
      const queueHold = q.holds.get('');
      if (queueHold !== undefined && queueHold > p.now) this.bad(m.st, `started at ${at(p.now)} while a throttled job held the whole queue until ${at(queueHold)}`);
      const keyHold = m.rateKey === null ? undefined : q.holds.get(m.rateKey);
      if (keyHold !== undefined && keyHold > p.now) this.bad(m.st, `started at ${at(p.now)} while a throttled job held its rate key "${m.rateKey}" until ${at(keyHold)}`);
      const no = this.startNo++;
      this.recordStart(q.starts, p.now, no);
      if (m.rateKey !== null) {
        let list = q.keyStarts.get(m.rateKey);
        if (!list) q.keyStarts.set(m.rateKey, (list = []));
        this.recordStart(list, p.now, no);
      }
    }
    // F2: no window of intervalMs holds more than max starts, for the queue and per rate key.
    if (picked.length > 0 && s.rateLimit) {
      const n = this.window(q.starts, p.now, s.rateLimit.intervalMs, q.rateEpoch);
      if (n > s.rateLimit.max) this.violate(`queue ${p.queue}: ${n} jobs started in the ${s.rateLimit.intervalMs} ms up to ${at(p.now)} (rateLimit max ${s.rateLimit.max}); this claim started #${picked.map((m) => m.st.n).join(', #')}`);
    }
    if (s.perKeyRateLimit) {
      for (const key of new Set(picked.map((m) => m.rateKey))) {
        if (key === null) continue;
        const n = this.window(q.keyStarts.get(key), p.now, s.perKeyRateLimit.intervalMs, q.keyRateEpoch);
        if (n > s.perKeyRateLimit.max) this.violate(`queue ${p.queue}, rate key "${key}": ${n} jobs started in the ${s.perKeyRateLimit.intervalMs} ms up to ${at(p.now)} (perKeyRateLimit max ${s.perKeyRateLimit.max})`);
      }
    }
    // Claims without limits take jobs in plain claim order (and leave the round-robin cursor alone, unless
    // a hold sent them down the limited path): fairness is counted only across limited claims in a row.
    if (picked.length > 0) {
      if (limited) this.fairness(q, p, picked);
      else q.skipped.clear();
    }
    if (jobs.wakeAt !== undefined && jobs.wakeAt < p.now && picked.length === 0) this.violate(`queue ${p.queue}: a claim at ${at(p.now)} took nothing and said to wake at ${at(jobs.wakeAt)}, in the past`);
  }

  /** After the picks are processing: running counts within the limits (F1). */
  afterClaim(p: JobClaimParams, picked: readonly MirrorJob[]): void {
    if (picked.length === 0) return;
    const q = this.q(p.queue);
    const s = q.settings;
    if (s.concurrency !== null && q.processing.size > s.concurrency) {
      this.violate(`queue ${p.queue}: ${q.processing.size} jobs processing after a claim at ${p.now - this.t0} (concurrency ${s.concurrency}): #${[...q.processing].map((m) => m.st.n).join(', #')}`);
    }
    if (s.perKeyConcurrency !== null) {
      for (const key of new Set(picked.map((m) => m.concurrencyKey))) {
        const n = key === null ? 0 : (q.runningByKey.get(key) ?? 0);
        if (n > s.perKeyConcurrency) {
          this.violate(`queue ${p.queue}, key "${key}": ${n} jobs processing after a claim at ${p.now - this.t0} (perKeyConcurrency ${s.perKeyConcurrency}): #${[...q.processing].filter((m) => m.concurrencyKey === key).map((m) => m.st.n).join(', #')}`);
        }
      }
    }
  }

  /** Whether a job of this rate key may start now by every count the store could have (holds, all starts in the window). */
  private rateFree(q: QueueFlow, rateKey: string | null, now: number): boolean {
    if (rateKey === null) return true;
    const hold = q.holds.get(rateKey);
    if (hold !== undefined && hold > now) return false;
    const r = q.settings.perKeyRateLimit;
    return !r || this.window(q.keyStarts.get(rateKey), now, r.intervalMs, 0) < r.max;
  }

  /**
   * F4: a group deserves a job at a claim that started some when nothing of it runs and every ready
   * job of it the claimer could take may start (no hold, room in its rate window).
   */
  private fairness(q: QueueFlow, p: JobClaimParams, picked: readonly MirrorJob[]): void {
    const served = new Set(picked.map((m) => m.concurrencyKey));
    for (const [key, set] of q.inLine) {
      // Running counts are from before this claim's picks (they are processing only after it).
      let ready = 0;
      let free = (q.runningByKey.get(key) ?? 0) === 0;
      for (const m of set) {
        if (!free) break;
        if (!this.ready(m, p.now) || (p.types !== null && !p.types.includes(m.type))) continue;
        ready++;
        if (!this.rateFree(q, m.rateKey, p.now)) free = false;
      }
      if (ready === 0 || !free || served.has(key)) {
        q.skipped.delete(key);
        continue;
      }
      const n = (q.skipped.get(key) ?? 0) + 1;
      q.skipped.set(key, n);
      this.counters.maxSkipped = Math.max(this.counters.maxSkipped, n);
      if (n > STARVATION_BOUND) {
        this.violate(`queue ${p.queue}: key ${key === null ? '(none)' : `"${key}"`} has ${ready} ready jobs, nothing running and nothing holding it back, yet ${n} claims in a row (the last at ${p.now - this.t0}) started other keys' jobs (#${picked.map((m) => m.st.n).join(', #')})`);
        q.skipped.set(key, 0);
      }
    }
  }

  /**
   * F5, in the drain (no faults, timers on time): the queue does not sit idle for IDLE_STEPS steps in a
   * row (nothing started) while a job could start — in line and due, of a type some live node with a
   * free slot handles (a node whose timers are on time, and were for longer than the latest of them
   * could still be pending), and no limit, hold or window of the store holding it back.
   */
  idleCheck(now: number, nodes: readonly SimNode[]): void {
    const free = nodes.filter((n) => n.state === 'live' && n.clock.lag === 0 && now - n.lastLaggingAt > MAX_LAG_MS + LATE_SLACK_MS && n.running.size < n.concurrency);
    for (const [name, q] of this.queues) {
      const idle = this.startable(q, now, free);
      const started = this.startNo !== q.startsAtCheck;
      q.startsAtCheck = this.startNo;
      q.idleSteps = idle && !started ? q.idleSteps + 1 : 0;
      if (!idle || q.idleSteps < IDLE_STEPS) continue;
      q.idleSteps = 0;
      // A job only a known bug keeps from starting (known-bugs.ts) is counted, not a violation.
      const bug = this.hidden(idle) ?? (this.store === 'sqlite' && known('sql-rate-key-behind-held') && this.behindHeld(q, idle, now) ? 'sql-rate-key-behind-held' : null);
      if (bug) {
        this.knownBug(bug);
        continue;
      }
      const s = q.settings;
      this.bad(idle.st, `queue ${name}: could start these ${IDLE_STEPS} steps (${s.concurrency ?? '∞'} concurrency, ${q.processing.size} processing, nothing holding it back, a live node with a free slot handles "${idle.type}"), yet nothing in the queue started`);
    }
  }

  /** A job that could start now (F5), preferring one no known bug hides. */
  private startable(q: QueueFlow, now: number, free: readonly SimNode[]): MirrorJob | null {
    const s = q.settings;
    const queueHold = q.holds.get('');
    if (queueHold !== undefined && queueHold > now) return null;
    if (s.concurrency !== null && q.processing.size >= s.concurrency) return null;
    if (s.rateLimit !== null && this.window(q.starts, now, s.rateLimit.intervalMs, 0) >= s.rateLimit.max) return null;
    let found: MirrorJob | null = null;
    for (const [key, set] of q.inLine) {
      if (key !== null && s.perKeyConcurrency !== null && (q.runningByKey.get(key) ?? 0) >= s.perKeyConcurrency) continue;
      for (const m of set) {
        if (m.runAt > now || !free.some((n) => n.types.includes(m.type)) || !this.rateFree(q, m.rateKey, now)) continue;
        if (this.hidden(m) === null && !(this.store === 'sqlite' && this.behindHeld(q, m, now))) return m;
        found ??= m;
      }
    }
    return found;
  }

  /**
   * Whether `m` waits behind a job of its own concurrency key whose rate key is used up (known-bugs.ts
   * 'sql-rate-key-behind-held': SQLite looks at the first few jobs of a key only).
   */
  private behindHeld(q: QueueFlow, m: MirrorJob, now: number): boolean {
    if (m.concurrencyKey === null && !hasLimits(q.settings)) return false;
    for (const other of q.inLine.get(m.concurrencyKey) ?? []) {
      if (other !== m && other.rateKey !== m.rateKey && !this.rateFree(q, other.rateKey, now)) return true;
    }
    return false;
  }
}
