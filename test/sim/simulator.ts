/**
 * Deterministic simulation: several jobq nodes (the real worker pool, rescuer
 * and retry code) over one store, driven by one seeded RNG and a fake clock,
 * with crashes, late heartbeats, cancels, retries, failures and hangs.
 * Invariants are checked after every step; a failing seed is replayed with
 * `npm run sim -- --seed N --steps M`.
 */
import { isJobqError } from '../../src/contracts/errors.js';
import { Jobq } from '../../src/core/jobq.js';
import { JOB_STATUSES, TRANSITIONS, type Job, type JobStatus, type LeasedJob } from '../../src/contracts/job.js';
import type { Store } from '../../src/contracts/store.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { NodeClock } from './node-clock.js';
import { Rng } from './rng.js';

interface SimNode {
  name: string;
  jobq: Jobq;
  clock: NodeClock;
}

interface Run {
  jobId: string;
  token: string;
  node: SimNode;
  /** The handler returned or threw. */
  settled: boolean;
  /** The pool gave up on it (timeout, lost lease, cancel): its signal fired. */
  abandoned: boolean;
  /** Lease expiry last seen in the store while this run held the job. */
  expiry: number;
  /** The simulation cancelled the job while this run held it: its lease is void. */
  voided: boolean;
}

interface WorkPayload {
  ms: number;
  fail: boolean;
  hang: boolean;
  permanent: boolean;
}

export interface SimResult {
  seed: number;
  steps: number;
  violations: string[];
  stats: { acknowledged: number; runs: number; crashes: number; completed: number; failed: number; cancelled: number };
}

const LEASE_MS = 1000;
const RESCUE_MS = 200;

/** A store a crashed node still holds: every call it makes never completes, as in a killed process. */
function killable(store: Store, isDead: () => boolean): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (isDead() ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

function reachable(from: JobStatus, to: JobStatus): boolean {
  const seen = new Set<JobStatus>([from]);
  const todo: JobStatus[] = [from];
  while (todo.length) {
    const s = todo.pop()!;
    if (s === to) return true;
    for (const n of TRANSITIONS[s]) if (!seen.has(n)) seen.add(n), todo.push(n);
  }
  return false;
}

export async function simulate(seed: number, steps: number): Promise<SimResult> {
  const rng = new Rng(seed);
  const clock = new FakeClock();
  const store = new MemoryStore({ maxActiveJobs: 1_000_000, maxFinishedJobs: 1_000_000 });
  let lastRescueAt = -Infinity;
  const expiredLeases = store.jobExpiredLeases.bind(store);
  store.jobExpiredLeases = async (p) => {
    const out = await expiredLeases(p);
    lastRescueAt = Math.max(lastRescueAt, p.now);
    return out;
  };

  const violations: string[] = [];
  const violate = (step: number, msg: string) => violations.push(`step ${step} (t=${clock.now()}): ${msg}`);
  const acked = new Set<string>();
  const runs: Run[] = [];
  const completedSeen = new Set<string>();
  const known = new Map<string, Job>();
  let nodes: SimNode[] = [];
  let crashes = 0;
  let nodeCount = 0;
  let step = 0;

  const startNode = () => {
    const clockView = new NodeClock(clock);
    const node = { name: `n${nodeCount++}` } as SimNode;
    node.clock = clockView;
    node.jobq = new Jobq({
      store: killable(store, () => clockView.dead),
      clock: clockView,
      random: () => rng.next(),
      leaseMs: LEASE_MS,
      pollIntervalMs: 100,
      rescueIntervalMs: RESCUE_MS,
      retry: { baseDelayMs: 50, factor: 2, maxDelayMs: 1000, jitter: 0.25 },
      queues: { default: { concurrency: rng.int(1, 4) } },
      handlers: {
        work: async (job, ctx) => {
          const leased = job as LeasedJob<WorkPayload>;
          if (completedSeen.has(job.id)) violate(step, `completed job ${job.id} ran again on ${node.name}`);
          for (const other of runs) {
            if (other.jobId !== job.id || other.settled || other.abandoned || other.voided || other.node.clock.dead) continue;
            if (other.expiry > clock.now()) {
              violate(step, `job ${job.id} started on ${node.name} while ${other.node.name} held a lease valid until ${other.expiry}`);
            }
          }
          const run: Run = { jobId: job.id, token: leased.leaseToken, node, settled: false, abandoned: false, expiry: leased.leaseExpiresAt ?? 0, voided: false };
          ctx.signal.addEventListener('abort', () => (run.abandoned = true), { once: true });
          runs.push(run);
          try {
            const p = leased.payload;
            if (p.hang) await new Promise(() => {});
            await new Promise<void>((r) => clockView.setTimer(r, p.ms));
            if (p.permanent) throw Object.assign(new Error('permanent failure'), { permanent: true });
            if (p.fail) throw new Error('transient failure');
            return { by: node.name };
          } finally {
            run.settled = true;
          }
        },
      },
    });
    node.jobq.startWorkers();
    nodes.push(node);
  };

  const live = () => nodes.filter((n) => !n.clock.dead);
  const ignoreExpected = (err: unknown) => {
    if (!isJobqError(err, 'illegal_transition') && !isJobqError(err, 'not_found')) throw err;
  };

  async function check(): Promise<void> {
    const now = clock.now();
    for (const id of acked) {
      const raw = await store.jobGet(id);
      if (!raw) {
        violate(step, `acknowledged job ${id} is missing`);
        continue;
      }
      const job = raw;
      if (!JOB_STATUSES.includes(job.status)) violate(step, `job ${id} has unknown status ${job.status}`);
      if (job.attempts > job.maxAttempts) violate(step, `job ${id} has ${job.attempts} attempts of ${job.maxAttempts}`);
      const before = known.get(id);
      if (before && before.status !== job.status && !reachable(before.status, job.status)) {
        violate(step, `job ${id} moved ${before.status} → ${job.status}, not along the transition table`);
      }
      if (job.status === 'processing' && (job.leaseExpiresAt ?? 0) <= lastRescueAt) {
        violate(step, `job ${id} still processing with a lease that expired at ${job.leaseExpiresAt}, before the rescue at ${lastRescueAt}`);
      }
      if (job.status === 'completed') completedSeen.add(id);
      // The latest run of a processing job holds its current lease.
      const lastRun = runs.findLast((r) => r.jobId === id);
      if (lastRun && job.status === 'processing' && job.leaseExpiresAt !== null) lastRun.expiry = Math.max(lastRun.expiry, job.leaseExpiresAt);
      known.set(id, job);
    }
    void now;
  }


  startNode();
  startNode();
  for (step = 1; step <= steps; step++) {
    const roll = rng.next();
    const alive = live();
    const via = rng.pick(alive);
    if (roll < 0.3 && via) {
      const inputs = Array.from({ length: rng.int(1, 4) }, () => ({
        type: 'work',
        payload: { ms: rng.int(0, 600), fail: rng.chance(0.2), hang: rng.chance(0.04), permanent: rng.chance(0.04) } satisfies WorkPayload,
        priority: rng.int(-2, 2),
        maxAttempts: rng.int(1, 4),
        ...(rng.chance(0.3) ? { delayMs: rng.int(1, 500) } : {}),
        ...(rng.chance(0.5) ? { timeoutMs: rng.int(100, 900) } : {}),
      }));
      const jobs = await via.jobq.enqueueMany(inputs);
      for (const j of jobs) acked.add(j.id);
    } else if (roll < 0.35 && via && acked.size > 0) {
      const id = rng.pick([...acked])!;
      // A cancel voids the lease of whoever runs the job now (that node learns at its next heartbeat).
      for (const r of runs) if (r.jobId === id) r.voided = true;
      await via.jobq.cancel(id).catch(ignoreExpected);
    } else if (roll < 0.4 && via && acked.size > 0) {
      await via.jobq.retry(rng.pick([...acked])!).catch(ignoreExpected);
    } else if (roll < 0.44 && alive.length > 0) {
      const victim = rng.pick(alive)!;
      victim.clock.dead = true; // kill -9: no release, no more timers, no more store calls
      crashes++;
    } else if (roll < 0.49 && alive.length < 4) {
      startNode();
    } else if (roll < 0.52 && via) {
      via.clock.lag = rng.chance(0.5) ? 0 : rng.int(100, 1500); // late heartbeats
    } else {
      await clock.advance(rng.int(1, 300));
    }
    await clock.advance(0);
    await check();
    if (violations.length > 0) break;
  }
  // Let every live node drain; then nothing may be left processing past its lease.
  if (live().length === 0) startNode();
  for (const n of live()) n.clock.lag = 0;
  for (let i = 0; i < 200 && violations.length === 0; i++) {
    await clock.advance(100);
    await check();
  }
  nodes = live();
  // stop() waits out its grace period on the (fake) clock, so time has to move meanwhile.
  const stopping = Promise.all(nodes.map((n) => n.jobq.stop(0)));
  await clock.advance(1);
  await stopping;
  const all = await Promise.all([...acked].map((id) => store.jobGet(id)));
  const count = (s: JobStatus) => all.filter((j) => j?.status === s).length;
  return {
    seed,
    steps,
    violations,
    stats: { acknowledged: acked.size, runs: runs.length, crashes, completed: count('completed'), failed: count('failed'), cancelled: count('cancelled') },
  };
}
