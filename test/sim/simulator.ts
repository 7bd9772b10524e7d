/**
 * Deterministic simulation: several jobq nodes (the real worker pool, lease
 * keeper, rescuer, finisher and retry code, leadership and the cron
 * scheduler) over one store, the memory store or a real SQLite file, driven
 * by one seeded RNG and a fake clock. Faults: nodes killed (kill -9: their
 * timers and store calls stop dead, SQLite's leader lock is dropped as the OS
 * would), graceful stops, timers that run late (heartbeats miss their leases),
 * cancels, manual retries, handlers that fail, fail permanently, hang, time
 * out or are throttled (RateLimitedError), claim replies lost after the
 * commit, and poison messages that make the store refuse a whole batch of
 * finishes (see store-view.ts). Invariants are checked after every step,
 * incrementally (model.ts for the events and leases, mirror.ts and its
 * flow-checks.ts and cron-checks.ts for the store's commits); a failing seed
 * prints the command that replays it: `npm run sim -- --seed N --steps M
 * --store S`. A seed's result (its stats, including a digest of the whole
 * event log) is the same on every run. Bugs in src/ found and not fixed yet
 * are listed in known-bugs.ts, each kept out of the verdict as narrowly as
 * possible and counted.
 *
 * Nodes have different handler sets: some handle `work` and `mail`, some
 * only `work`; nobody ever handles `fax` (ORPHAN_TYPE).
 *
 * Scheduling and dependencies (issue #11, workload.ts): one job in eight
 * carries a unique key (six keys; a quarter with uniqueForMs, three in ten
 * onConflict 'replace'); one batch in five links its jobs (dependsOn earlier
 * jobs of the batch and recent stored ones, policy fail / cancel / ignore);
 * one enqueue in twelve is a flow (a parent, children, sometimes
 * grandchildren). Most seeds start with a cron schedule (every 1–5 s,
 * catchUp none / latest / all); steps upsert, pause, resume and remove
 * schedules. Leaders change when nodes die or stop (memory: a lease of three
 * node heartbeats; SQLite: the side-file lock).
 *
 * Flow control (issue #12): most seeds start with limits on the queue
 * (concurrency, perKeyConcurrency, rateLimit, perKeyRateLimit, each drawn or
 * absent); steps replace them, or remove them all. Three jobs in five carry
 * a concurrency key (tenants a–d), some a rate key shared across tenants;
 * one in twelve is throttled on its first runs (RateLimitedError holding its
 * rate key, or the whole queue).
 *
 * Poison: handlers throw errors whose message holds U+0000 or ends in a
 * lone high surrogate, and also the marker text POISON; the core replaces
 * NUL and lone surrogates before storing error text, so the store view
 * refuses a batch on the marker (and on any raw NUL / lone surrogate, which
 * O2 reports as a core bug). Some handlers return a result holding U+0000,
 * which the core does not sanitise: the view refuses it as it stands.
 *
 * Scheduling: after each timer, the work it started runs until a quiet
 * event-loop turn; with probability `cutIn` (default 0.3, `--cut-in`) the
 * next timer may fire after a single turn, before a group commit or claim
 * loop has taken its next setImmediate hop (as when timers fall due in one
 * pass of a busy loop). Long runs stay bounded: an enqueue step waits while
 * 150 handled jobs are unfinished.
 *
 * ── Invariants ──────────────────────────────────────────────────────────────
 * Store (each job touched in a step is read back at its end; all at the end):
 *  S1 every acknowledged job exists; its status is one of JOB_STATUSES;
 *     attempts ≤ maxAttempts; status changes follow the transition table.
 *  S2 no job is handed to a second worker while another holds a valid lease
 *     (checked when a handler starts, and in every claim reply: the store
 *     never hands out a job that is leased under another token).
 *  S3 no processing job has a lease that expired before the last complete
 *     rescue; jobExpiredLeases lists exactly the expired leases.
 *  S4 a completed job never runs again.
 *  S5 fences, both ways: a store applies an extend, finish, release or
 *     progress exactly when the token is the job's current one.
 *  S6 nothing is processing once every node has stopped (nothing stuck).
 *  H1 every heartbeat of a node covers every handler still running on it.
 *  H2 a handler whose lease was lost (rescued, cancelled elsewhere) is
 *     abandoned (its signal fires) by its node's next heartbeat.
 *  L1 a node that is alive and on time (none of its timers late within
 *     lease + heartbeat interval + the longest lag before) never lets the
 *     lease of a job whose handler is still running run out.
 * Claims by type:
 *  T1 a node never claims or runs a job of a type it has no handler for,
 *     and no job is ever failed with "no handler registered";
 *  T2 a `fax` job (no node handles it) is never claimed: it stays pending
 *     or scheduled (or cancelled by hand) with 0 attempts.
 * Attempts (issue #7, lost claim reply):
 *  A1 attempts in the store ≤ handler starts since the job was last put back
 *     in line by hand (+ excused spends, below). This is tighter than
 *     "starts + expiries of started runs": a rescue spends the attempt its
 *     claim already counted, it never adds one.
 *  A2 a `rescued` event spends the attempt of a run whose handler started.
 *     Excused (counted in stats, added to A1's allowance): the job was taken
 *     by a claim whose reply was lost and its node could not give it back
 *     before the lease ran out because it was killed (nobody knows the
 *     token) or its timers were running late (a stalled node; its running
 *     jobs lose their leases the same way). A node that is alive, on time,
 *     or merely shutting down gets no excuse. Also excused: a lost claim's
 *     job cancelled before it was given back keeps the claim's attempt.
 *  A3 jobs taken by a lost claim never stay processing (S3, S6) and are
 *     given back by jobReleaseClaim, all of them, nothing else.
 * Outcomes (issue #7, poison message):
 *  O1 a handler that settled (returned, threw, or timed out) has its outcome
 *     sent to the store within the step, and if its lease was still current
 *     then, exactly its outcome is written: completed for a storable result;
 *     retrying or failed per its attempts and permanence; failed ("could not
 *     be stored") for its own poison — never left to lease expiry, never a
 *     failure because a batch-mate was poison. (A lease that ran out before
 *     the outcome got to the store may be rescued: that is what leases do.)
 *  O2 no error text with U+0000 or a lone surrogate ever reaches the store.
 *
 * ── The event stream ────────────────────────────────────────────────────────
 * Every node's bus is subscribed ({ cluster: false }) before it starts, into
 * one global log in emission order. Rules, per job (S = the job's state
 * after its previous event; "in line" = pending or scheduled, a scheduled
 * job being silently promoted to pending by the store):
 *  E0 exactly once: every change the store reports to a node (insert, claim,
 *     finish, release, release of a lost claim, progress, cancel, retry, and
 *     each waiting job a finish or cancel moved) is followed, before the step
 *     ends, by exactly one event from that node with the same job, status and
 *     attempt and a kind that fits the call (finish → completed | retrying |
 *     failed | rescued | throttled; a moved dependent → ready | failed |
 *     cancelled); an event with no such change behind it is a violation. Nothing runs between a store
 *     reply and its emission but microtasks, and nodes die only between steps.
 *     The one transition with no event is a lost claim (the core never saw
 *     it); the simulator records it from the store view (~lost-claim).
 *  E1 enqueued: first event; attempt 0; pending or scheduled (with
 *     dependencies also waiting, failed or cancelled); stamped with the job's
 *     creation (a scheduler's enqueue may come out a timer later).
 *  E2 started: S in line; attempt = S.attempt + 1 ≤ maxAttempts (1, 2, …
 *     in order, restarting after released / retried); processing; from a
 *     node with a handler for the type.
 *  E3 progress: S processing under a started run, same attempt, same node.
 *  E4 completed | retrying | failed | throttled: S processing under a started
 *     run, from the node that ran it, same attempt (throttled: the attempt
 *     given back, S.attempt − 1, in line by its runAt); retrying only while
 *     attempts remain, pending only if runAt ≤ at, scheduled only if runAt is
 *     after the handler ended; failed never for lack of a handler.
 *  E5 rescued: S processing; same attempt; failed iff attempts are spent,
 *     else in line; the lease it took back had expired (A2 for the start).
 *  E6 released: S processing; attempt given back (S.attempt − 1); pending;
 *     either a lost claim given back by the node that made it, or a running
 *     job given back by its node while that node is shutting down.
 *  E7 cancelled: S waiting, scheduled, pending or processing; same attempt.
 *  E8 retried: S failed or cancelled; attempt 0; pending.
 *  E9 completed is final; after failed or cancelled only retried (so never
 *     two terminal events in a row); every status change is in the table;
 *     `at` is the emission time and never goes back per job.
 *  E10 agreement: at the end of each step, for every job touched, the store's
 *     status and attempts equal the event view's (a scheduled job may be
 *     pending already; onConflict 'replace' moves a job in line silently).
 *  E11 ready: S waiting; in line; same attempt. failed / cancelled by a
 *     dependency: S waiting, same attempt, the error names the dependency.
 *  E12 lease_lost: no store change behind it and none of S's state moved by
 *     it; from a node with the handler, once per attempt and node, for an
 *     attempt whose lease is not the current one, never for a cancelled job;
 *     stamped when emitted.
 *
 * ── The store's commits (mirror.ts) ─────────────────────────────────────────
 * Every store reply carries its commit's place (store-view.ts); at the end of
 * each step the mirror replays the step's commits in that order, so these
 * rules judge what was true at the instant of each commit. For every job
 * touched, the mirror equals the store (status, attempts, runAt, priority)
 * at the end of the step.
 *  M1 a claim takes only pending jobs (scheduled ones whose runAt passed are
 *     promoted by the claim, and every one of them is); its jobs' startedAt
 *     is the claim's time.
 * Unique keys:
 *  K1 never two active (waiting, scheduled, pending, processing) jobs with
 *     one key, nor a new job with the key of one that ended within its
 *     uniqueForMs.
 *  K2 an enqueue of a held key answers with the job that holds it (and only
 *     then); 'replace' replaces exactly a holder that has not started.
 *  K3 a manual retry takes its key back only if no other job holds it, and
 *     is refused with conflict only if one does.
 * Dependencies:
 *  D1 a job is inserted waiting while a dependency is unfinished, failed or
 *     cancelled at once if one already failed or was cancelled (policy fail,
 *     cancel), else as asked.
 *  D2 nothing starts before all its dependencies completed (policy ignore:
 *     ended, D4), unless a user retried it by hand (counted).
 *  D3 when a job ends, its waiting dependents move in the same transaction,
 *     exactly these and no others: ready once every dependency completed,
 *     ended by their policy (fail → failed, cancel → cancelled) down the
 *     chain when it failed or was cancelled; 'ignore' dependents never end
 *     for it. The change names one of the dependencies that ended.
 *  D4 under 'ignore' a dependent leaves waiting only once each dependency
 *     ended since it was enqueued.
 * Cron schedules (cron-checks.ts):
 *  C1 no slot is enqueued twice (key schedule:<name>:<ISO slot>), across
 *     leader changes, catch-up, pauses and redefinitions.
 *  C2 a slot is a slot of one of the schedule's cron expressions, never
 *     enqueued before its time.
 *  C3 under catchUp 'all' a schedule version's slots are enqueued in order
 *     from its first one, none skipped.
 *  C4 at the end of the drain, with a node leading for a while, no slot of
 *     a running schedule is left unenqueued longer than the scheduler's tick.
 * Flow control (flow-checks.ts):
 *  F1 after a claim that started jobs, the jobs processing in the queue (and
 *     per concurrency key) are within concurrency (perKeyConcurrency), as
 *     set by the latest configure: counted in the store, cluster-wide, lost
 *     claims and dead nodes' jobs included.
 *  F2 no window of intervalMs holds more than max starts since the limit
 *     was set, for the queue and per rate key.
 *  F3 nothing of a held rate key (or of a held queue) starts before the
 *     hold set by a throttled job ends.
 *  F4 fairness: under limits, a key with ready jobs, nothing running and
 *     nothing holding it back gets a job within STARVATION_BOUND claims that
 *     start other keys' jobs.
 *  F5 in the drain, the queue never idles (nothing starting) for 500 ms
 *     while a job could start: no limit, hold or window holding it back and
 *     a live, on-time node with a free slot that handles it (killed nodes'
 *     slots come back once their leases are rescued).
 *  F6 a throttle never spends an attempt (E4, E10, M-equality).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isJobqError, PermanentJobError, RateLimitedError } from '../../src/contracts/errors.js';
import type { JobStatus, LeasedJob } from '../../src/contracts/job.js';
import type { Store } from '../../src/contracts/store.js';
import type { JobContext } from '../../src/core/handler.js';
import { Jobq } from '../../src/core/jobq.js';
import { SCHEDULER_INTERVAL_MS } from '../../src/core/services/maintenance.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { HEARTBEAT_MS, LEASE_MS, MAX_LAG_MS, Model, ORPHAN_TYPE, type SimNode, type WorkPayload } from './model.js';
import { NodeClock } from './node-clock.js';
import { Rng } from './rng.js';
import { SimClock } from './sim-clock.js';
import { CommitCounter, POISON_MARKER, storeView, type ViewFaults } from './store-view.js';
import { known } from './known-bugs.js';
import { newBatch, newFlow, newSchedule, newSettings, SCHEDULE_NAMES, type Job } from './workload.js';

export type StoreKind = 'memory' | 'sqlite';

export interface SimOptions {
  /** @defaultValue 'memory' */
  store?: StoreKind;
  /** How often the next timer may cut in before the last one's work took its next event-loop turn (see SimClock), 0..1. @defaultValue 0.3 */
  cutIn?: number;
  /** For digging into a failing seed: called at the end of the run, before the store closes. */
  inspect?: (model: Model, store: Store) => Promise<void>;
}

export interface SimStats {
  acknowledged: number;
  runs: number;
  events: number;
  crashes: number;
  stops: number;
  lostClaims: number;
  poisonBatches: number;
  completed: number;
  failed: number;
  cancelled: number;
  pending: number;
  scheduled: number;
  excusedDeadClaimant: number;
  excusedLaggingClaimant: number;
  excusedCancelledUnstarted: number;
  /** lease_lost events (issue #14): nodes that found a run's lease gone. */
  leaseLost: number;
  // Issue #11: keys, dependencies, cron.
  deduplicated: number;
  replaced: number;
  dependentsMoved: number;
  depsOverriddenByRetry: number;
  cronSlots: number;
  cronSlotsDeduplicated: number;
  leaderChanges: number;
  // Issue #12: flow control.
  configures: number;
  limitedClaims: number;
  throttles: number;
  maxSkipped: number;
  /** FNV-1a of every event (kind, job number, attempt, status, node, time) in emission order. */
  eventDigest: string;
}

export interface SimResult {
  seed: number;
  steps: number;
  store: StoreKind;
  violations: string[];
  stats: SimStats;
  /** How often each known bug (known-bugs.ts) showed itself: not violations until it is fixed. */
  knownBugs: Record<string, number>;
  /** The command that replays this seed. */
  replay: string;
}

const RESCUE_MS = 200;
const POLL_MS = 100;
const MAX_NODES = 4;
/** Unfinished jobs (of the handled types) beyond which enqueue steps wait: long runs stay bounded. */
const MAX_ACTIVE = 150;
const MAX_ACTIVE_ORPHANS = 20;
const LOST_CLAIM_RATE = 0.04;
/**
 * How often nodes announce themselves and renew leadership: a killed leader's lease (three of these)
 * runs out within a seed, so leaders change and the cron scheduler catches up under a new one.
 */
const NODE_HEARTBEAT_MS = 1000;
const QUEUE = 'default';
const EARLY_CLAIM_FAILURE_RATE = 0.01;
const MAX_VIOLATIONS = 20;
/** How often the next timer may cut in before the work of the last one has taken its next event-loop turn (see SimClock). */
export const DEFAULT_CUT_IN = 0.3;
/** Steps of 100 ms after the last one: enough for every dead node's lease to expire and be rescued. */
const DRAIN_STEPS = 50;

export async function simulate(seed: number, steps: number, options: SimOptions = {}): Promise<SimResult> {
  const kind = options.store ?? 'memory';
  const dir = kind === 'sqlite' ? mkdtempSync(join(simTmpDir(), 'jobq-sim-')) : null;
  try {
    const store: Store = dir
      ? new SqliteStore({ path: join(dir, 'sim.db'), synchronous: 'normal' })
      : new MemoryStore({ maxActiveJobs: 10_000_000, maxFinishedJobs: 10_000_000, maxBytes: 2 ** 40 });
    try {
      return await run(seed, steps, kind, store, options.cutIn ?? DEFAULT_CUT_IN, options.inspect);
    } finally {
      await store.close();
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Where the SQLite file goes: $JOBQ_SIM_TMPDIR, else /dev/shm when there is one (a real file with its
 * WAL and -shm, on tmpfs: checkpoints' fsyncs cost nothing, about a quarter of a seed's time on disk),
 * else the OS temp dir. A seed's result does not depend on it.
 */
function simTmpDir(): string {
  const chosen = process.env.JOBQ_SIM_TMPDIR;
  if (chosen) return chosen;
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

async function run(seed: number, steps: number, kind: StoreKind, store: Store, cutIn: number, inspect: SimOptions['inspect']): Promise<SimResult> {
  const rng = new Rng(seed);
  const clock = new SimClock(() => (rng.chance(cutIn) ? 1 : 2));
  const t0 = clock.now();
  const violations: string[] = [];
  let step = 0;
  const violate = (msg: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(`step ${step} (t=${clock.now() - t0}): ${msg}`);
  };
  const model = new Model(clock, store, violate, kind);
  let faultsOn = true;
  const faults: ViewFaults = {
    lostClaimReply: () => faultsOn && rng.chance(LOST_CLAIM_RATE),
    claimFailsEarly: () => faultsOn && rng.chance(EARLY_CLAIM_FAILURE_RATE),
  };
  /** Nodes live or stopping (the dead and the stopped are dropped, so long runs can collect them). */
  let nodes: SimNode[] = [];
  let nodeCount = 0;
  const forget = (node: SimNode) => (nodes = nodes.filter((n) => n !== node));
  const acked: string[] = [];
  let crashes = 0;
  let stops = 0;
  const commits = new CommitCounter();
  /** Times each job's handler threw RateLimitedError (a job throttles on its first `throttle.times` runs). */
  const throttled = new Map<string, number>();
  let leader: SimNode | null = null;
  let lastLeader: SimNode | null = null;
  let leaderSince = 0;
  let leaderChanges = 0;

  async function handle(node: SimNode, job: LeasedJob<WorkPayload>, ctx: JobContext): Promise<unknown> {
    clock.poke();
    const run = model.handlerStarted(node, job, ctx.attempt);
    const signal = ctx.signal;
    signal.addEventListener('abort', () => model.runAborted(run, signal.reason), { once: true });
    const p = job.payload;
    try {
      if (p.progress) void ctx.progress(50);
      if (p.hang) await new Promise(() => {});
      await new Promise<void>((r) => node.clock.setTimer(r, p.ms));
      const throttles = throttled.get(job.id) ?? 0;
      if (p.throttle && throttles < p.throttle.times) {
        throttled.set(job.id, throttles + 1);
        model.runSettled(run, false, signal.aborted, true);
        throw new RateLimitedError({ retryAfterMs: p.throttle.retryAfterMs, scope: p.throttle.scope });
      }
      if (p.poison === 'nul') throw new Error(`${POISON_MARKER}: a NUL \u0000 in the message`);
      if (p.poison === 'surrogate') throw new Error(`${POISON_MARKER}: ends in a lone high surrogate \uD83D`);
      if (p.permanent) throw new PermanentJobError('permanent failure');
      if (p.fail) throw new Error('transient failure');
      const result = p.poison === 'result' ? { text: 'a NUL \u0000 in the result' } : { by: node.name };
      model.runSettled(run, true, signal.aborted);
      return result;
    } catch (err) {
      model.runSettled(run, false, signal.aborted);
      throw err;
    }
  }

  const startNode = () => {
    const index = nodeCount++;
    const clockView = new NodeClock(clock);
    const types = rng.chance(0.5) ? ['mail', 'work'] : ['work'];
    const concurrency = rng.int(1, 4);
    const node: SimNode = {
      index,
      name: `n${index}`,
      clock: clockView,
      types,
      state: 'live',
      lastLaggingAt: -Infinity,
      rescuing: null,
      running: new Set(),
      lastHeartbeatAt: -Infinity,
      concurrency,
      locks: [],
      lastScheduleDueAt: -Infinity,
      jobq: null as unknown as Jobq,
    };
    const handler = (job: unknown, ctx: JobContext) => handle(node, job as LeasedJob<WorkPayload>, ctx);
    node.jobq = new Jobq({
      store: storeView({ store, isDead: () => clockView.dead, observer: model.observer(node), faults, commits, poke: () => clock.poke(), locks: node.locks }),
      clock: clockView,
      nodeId: `sim-node-${index}`,
      random: () => rng.next(),
      leaseMs: LEASE_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      pollIntervalMs: POLL_MS,
      rescueIntervalMs: RESCUE_MS,
      nodeHeartbeatMs: NODE_HEARTBEAT_MS,
      retry: { baseDelayMs: 50, factor: 2, maxDelayMs: 1000, jitter: 0.25 },
      retention: { completed: null, failed: null, cancelled: null },
      // No jobs claimed ahead: the model has no state for a job leased and waiting for a slot, and its
      // attempt check (A2) would read one as an attempt spent without a start. test/core/prefetch.test.ts
      // covers prefetch.
      queues: { [QUEUE]: { concurrency, prefetch: 0 } },
      handlers: Object.fromEntries(types.map((t) => [t, handler])),
    });
    node.jobq.events.subscribe(
      (e) => {
        clock.poke();
        model.onEvent(node, e);
      },
      { cluster: false },
    );
    void node.jobq.start();
    nodes.push(node);
  };
  /** kill -9: no release, no more timers, no more store calls; the operating system drops its file locks. */
  const kill = (victim: SimNode) => {
    victim.clock.dead = true;
    victim.state = 'dead';
    for (const lock of victim.locks) void lock.release();
    forget(victim);
    crashes++;
  };
  /** Who leads now (nodes that are live or stopping), for the cron liveness check (C4). */
  const watchLeader = () => {
    const now = nodes.find((n) => n.state !== 'dead' && n.jobq.isLeader) ?? null;
    if (now !== leader) {
      if (now !== null && lastLeader !== null && now !== lastLeader) leaderChanges++;
      if (now !== null) lastLeader = now;
      leader = now;
      leaderSince = clock.now();
    }
  };

  const live = () => nodes.filter((n) => n.state === 'live');
  const setLag = (node: SimNode, lag: number) => {
    if (node.clock.lag > 0 || lag > 0) node.lastLaggingAt = clock.now();
    node.clock.lag = lag;
  };
  const stopNode = (node: SimNode, graceMs: number) => {
    node.state = 'stopping';
    stops++;
    node.jobq.stop(graceMs).then(
      () => {
        if (node.state !== 'stopping') return;
        node.state = 'stopped';
        forget(node);
      },
      (err: unknown) => violate(`${node.name}: stop() failed: ${String(err)}`),
    );
  };
  /** Mostly recent jobs: cancels and retries of long-finished ones would mostly be refused. */
  const pickJob = (): string | undefined => {
    if (acked.length === 0) return undefined;
    const from = rng.chance(0.8) ? Math.max(0, acked.length - 100) : 0;
    return acked[rng.int(from, acked.length - 1)];
  };
  /** Refusals a user may get; `conflict`: a manual retry of a job whose key another job holds now. */
  const expected = (what: string) => (err: unknown) => {
    if (!isJobqError(err, 'illegal_transition') && !isJobqError(err, 'not_found') && !(what === 'retry' && isJobqError(err, 'conflict'))) violate(`${what} failed unexpectedly: ${String(err)}`);
  };
  /** A recent job some node handles (dependencies on a job nobody runs would wait forever). */
  const recent = (): string | undefined => {
    const id = acked.length === 0 ? undefined : acked[rng.int(Math.max(0, acked.length - 20), acked.length - 1)];
    return id !== undefined && model.jobs.get(id)?.type !== ORPHAN_TYPE ? id : undefined;
  };
  const enqueue = async (via: SimNode) => {
    try {
      if (rng.chance(0.08)) {
        const flow = await via.jobq.flow(newFlow(rng));
        const walk = (n: typeof flow): void => (acked.push(n.job.id), n.children.forEach(walk));
        walk(flow);
      } else {
        const inputs: Job[] = newBatch(rng, () => model.activeOrphans < MAX_ACTIVE_ORPHANS, recent);
        for (const j of await via.jobq.enqueueMany(inputs)) acked.push(j.id);
      }
    } catch (err) {
      violate(`enqueue failed: ${String(err)}`);
    }
  };
  const configure = (via: SimNode) => via.jobq.queues.configure(QUEUE, newSettings(rng)).catch((err: unknown) => violate(`configure failed: ${String(err)}`));
  const scheduleOp = async (via: SimNode) => {
    const name = rng.pick(SCHEDULE_NAMES)!;
    const op = rng.next();
    if (op < 0.5) await via.jobq.schedules.upsert(newSchedule(rng, name)).catch((err: unknown) => violate(`schedule upsert failed: ${String(err)}`));
    else if (op < 0.85) await via.jobq.schedules.setPaused(name, rng.chance(0.5)).catch(expected('schedule pause'));
    else await via.jobq.schedules.remove(name).catch((err: unknown) => violate(`schedule remove failed: ${String(err)}`));
  };

  startNode();
  startNode();
  // Most seeds start with limits on the queue and a cron schedule; steps change both.
  if (rng.chance(0.6)) await configure(nodes[0]!);
  if (rng.chance(0.6)) await nodes[0]!.jobq.schedules.upsert(newSchedule(rng, SCHEDULE_NAMES[0])).catch((err: unknown) => violate(`schedule upsert failed: ${String(err)}`));
  for (step = 1; step <= steps; step++) {
    const roll = rng.next();
    const alive = live();
    const via = rng.pick(alive);
    if (roll < 0.3 && via && model.active < MAX_ACTIVE) {
      await enqueue(via);
    } else if (roll < 0.35 && via && acked.length > 0) {
      await via.jobq.cancel(pickJob()!).catch(expected('cancel'));
    } else if (roll < 0.4 && via && acked.length > 0) {
      await via.jobq.retry(pickJob()!).catch(expected('retry'));
    } else if (roll < 0.43 && nodes.some((n) => n.state === 'live' || n.state === 'stopping')) {
      kill(rng.pick(nodes.filter((n) => n.state === 'live' || n.state === 'stopping'))!);
    } else if (roll < 0.445 && via) {
      stopNode(via, rng.int(0, 800));
    } else if (roll < 0.49 && alive.length < MAX_NODES) {
      startNode();
    } else if (roll < 0.52 && via) {
      setLag(via, rng.chance(0.5) ? 0 : rng.int(100, MAX_LAG_MS)); // late heartbeats
    } else if (roll < 0.53 && via) {
      await configure(via); // new limits, or none
    } else if (roll < 0.54 && via) {
      await scheduleOp(via);
    } else {
      await clock.advance(rng.int(1, 300));
    }
    await clock.advance(0);
    await model.endOfStep();
    watchLeader();
    if (violations.length > 0) break;
  }

  // Drain: no more faults, timers on time; live nodes work off what they can and rescue what the dead held.
  let counts: Record<JobStatus, number> | null = null;
  if (violations.length === 0) {
    faultsOn = false;
    if (live().length === 0) startNode();
    for (const n of live()) setLag(n, 0);
    for (let i = 0; i < DRAIN_STEPS && violations.length === 0; i++) {
      await clock.advance(100);
      await model.endOfStep();
      watchLeader();
      model.mirror.flow.idleCheck(clock.now(), live());
    }
    if (violations.length === 0 && leader !== null) {
      const led = leader as SimNode;
      if (known('leader-service-never-ticks') && led.lastScheduleDueAt < leaderSince && clock.now() - leaderSince > 2 * SCHEDULER_INTERVAL_MS) model.knownBug('leader-service-never-ticks');
      else await model.mirror.cron.liveness((name) => store.scheduleGet(name), clock.now(), clock.now() - leaderSince, SCHEDULER_INTERVAL_MS);
    }
    // Nothing may stay processing once every node has stopped (S6) — if the drain ran its course.
    const drained = violations.length === 0;
    // Stop everyone gracefully; stop() waits its grace period on the fake clock, so time has to move.
    for (const n of live()) stopNode(n, 0);
    for (let i = 0; i < 1000 && nodes.some((n) => n.state === 'stopping'); i++) await clock.advance(10);
    for (const n of nodes) if (n.state === 'stopping') violate(`${n.name} never finished stopping`);
    counts = await model.finalSweep(drained);
  }
  for (const id of acked) if (!model.jobs.has(id)) violate(`acknowledged job ${id} was never reported inserted by the store`);

  counts ??= await model.countByStatus();
  await inspect?.(model, store);
  const c = model.counters;
  const { counters: m, flow: { counters: flow }, cron: { counters: cron } } = model.mirror;
  return {
    seed,
    steps,
    store: kind,
    violations: violations.length >= MAX_VIOLATIONS ? [...violations, '…'] : violations,
    knownBugs: Object.fromEntries(model.knownBugs),
    replay: `npm run sim -- --seed ${seed} --steps ${steps} --store ${kind}${cutIn === DEFAULT_CUT_IN ? '' : ` --cut-in ${cutIn}`}`,
    stats: {
      acknowledged: acked.length,
      runs: c.runs,
      events: c.events,
      crashes,
      stops,
      lostClaims: c.lostClaims,
      poisonBatches: c.poisonBatches,
      completed: counts.completed,
      failed: counts.failed,
      cancelled: counts.cancelled,
      pending: counts.pending,
      scheduled: counts.scheduled,
      excusedDeadClaimant: c.excusedDeadClaimant,
      excusedLaggingClaimant: c.excusedLaggingClaimant,
      excusedCancelledUnstarted: c.excusedCancelledUnstarted,
      leaseLost: c.leaseLost,
      deduplicated: m.deduplicated,
      replaced: m.replaced,
      dependentsMoved: m.dependentsMoved,
      depsOverriddenByRetry: m.depsOverriddenByRetry,
      cronSlots: cron.slots,
      cronSlotsDeduplicated: cron.slotsDeduplicated,
      leaderChanges,
      configures: flow.configures,
      limitedClaims: flow.limitedClaims,
      throttles: flow.throttles,
      maxSkipped: flow.maxSkipped,
      eventDigest: model.digest,
    },
  };
}
