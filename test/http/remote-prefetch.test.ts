/**
 * A remote worker's `prefetch` against a real server over loopback: jobs
 * claimed ahead of free slots never run beyond the concurrency, start when a
 * slot frees, keep their leases through heartbeats while they wait, and go
 * back unstarted (attempt unspent) on stop; 'auto' claims ahead for short
 * jobs and holds nothing extra for long ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobqClient } from '../../src/client/index.js';
import { ClaimAhead } from '../../src/core/worker/claim-ahead.js';
import { consoleLogger } from '../../src/client/worker-logger.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

type Jobs = { add: { a: number }; hold: null; slow: { ms: number } };

const quiet = consoleLogger('silent');
let s: TestServer;
let client: JobqClient<Jobs>;
let n = 0;
const queue = () => `pf-${++n}`;
/** The `max` of every claim the server was asked for, by queue. */
const asked = new Map<string, number[]>();
/** Heartbeat requests the server answered. */
let heartbeats = 0;

async function counts(q: string) {
  const c = (await client.queues()).queues.find((x) => x.name === q)?.counts;
  return { processing: c?.processing ?? 0, pending: c?.pending ?? 0, completed: c?.completed ?? 0 };
}

/** Handlers that count how many run at once. */
function gauge() {
  const g = { now: 0, most: 0 };
  const enter = () => void (g.most = Math.max(g.most, ++g.now));
  const leave = () => void g.now--;
  return { g, enter, leave };
}

describe('remote worker prefetch (jobs claimed ahead of free slots)', () => {
  before(async () => {
    // The server's node claims only its own 'demo' jobs; its rescuer looks for expired leases every 100 ms.
    s = await startTestServer({ jobq: { rescueIntervalMs: 100 } });
    // The claim route's call (claim() itself is the library's: a plain array without the hints the route waits on).
    const claim = s.jobq.claimWithHints.bind(s.jobq);
    s.jobq.claimWithHints = (req) => {
      (asked.get(req.queue) ?? asked.set(req.queue, []).get(req.queue)!).push(req.max);
      return claim(req);
    };
    const extend = s.jobq.extend.bind(s.jobq);
    s.jobq.extend = (leases, leaseMs) => (heartbeats++, extend(leases, leaseMs));
    client = new JobqClient<Jobs>({ url: s.url });
  });
  after(async () => {
    await s.close();
  });

  it('holds up to prefetch jobs beyond its slots, runs no more than its concurrency, and releases the ones ahead on stop, attempt unspent', async () => {
    const q = queue();
    const { g, enter } = gauge();
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 2 } },
      prefetch: 3,
      handlers: { hold: () => (enter(), new Promise(() => {})) },
      handleSignals: false,
      logger: quiet,
    });
    const jobs = await client.enqueueMany(Array.from({ length: 10 }, () => ({ type: 'hold' as const, payload: null, queue: q })));
    await waitFor(async () => (await counts(q)).processing === 5, { what: '2 running and 3 claimed ahead' });
    assert.equal(g.most, 2, 'only the concurrency runs');
    assert.equal(worker.running, 2);
    assert.deepEqual(await counts(q), { processing: 5, pending: 5, completed: 0 }, 'no more than 2 + 3 leased');
    await worker.stop(100);
    await worker.done;
    for (const j of jobs) {
      const now = await client.get(j.id);
      assert.deepEqual([now.status, now.attempts], ['pending', 0], `job ${j.id} back, attempt unspent`);
    }
  });

  it('a job claimed ahead starts when a slot frees, its lease kept by heartbeats while it waits past leaseMs', async () => {
    const q = queue();
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 1 } },
      prefetch: 1,
      leaseMs: 1000,
      heartbeatIntervalMs: 100,
      handlers: { slow: (job) => new Promise((r) => setTimeout(() => r('slow done'), job.payload.ms)), add: (job) => job.payload.a },
      handleSignals: false,
      logger: quiet,
    });
    try {
      const first = await client.enqueue({ type: 'slow', payload: { ms: 2500 }, queue: q });
      const second = await client.enqueue({ type: 'add', payload: { a: 7 }, queue: q });
      await waitFor(async () => (await counts(q)).processing === 2, { what: 'one running, one claimed ahead' });
      assert.equal(worker.running, 1);
      // The rescuer takes back a lease that runs out: the waiting job's must not (it waits 2.5 s, leaseMs is 1 s).
      await waitFor(async () => (await client.get(second.id)).status === 'completed', { what: 'the job claimed ahead to run', timeoutMs: 10_000 });
      const [a, b] = [await client.get(first.id), await client.get(second.id)];
      assert.deepEqual([a.status, a.attempts, a.result], ['completed', 1, 'slow done']);
      assert.deepEqual([b.status, b.attempts, b.result], ['completed', 1, 7], 'ran once, under the lease it was claimed with');
      assert.ok(b.startedAt! <= a.finishedAt!, 'leased (startedAt) before the first finished: it was claimed ahead');
    } finally {
      await worker.stop();
    }
  });

  it('a lost lease gives up only its own job: jobs of the same claim share its lease token and keep running', async () => {
    const q = queue();
    const reasons = new Map<string, unknown>();
    let started = 0;
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 3 } },
      prefetch: 0,
      leaseMs: 1000,
      heartbeatIntervalMs: 100,
      handlers: {
        hold: (job, ctx) => {
          started++;
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(reasons.set(job.id, ctx.signal.reason))));
        },
      },
      handleSignals: false,
      logger: quiet,
    });
    try {
      // Paused while enqueued, so one claim takes all three under one token.
      await client.pause(q);
      const jobs = await client.enqueueMany(Array.from({ length: 3 }, () => ({ type: 'hold' as const, payload: null, queue: q })));
      await client.resume(q);
      await waitFor(() => started === 3, { what: 'the three jobs to start' });
      const leased = await Promise.all(jobs.map((j) => client.get(j.id)));
      assert.equal(new Set(leased.map((j) => j.startedAt)).size, 1, 'claimed together');
      await client.cancel(jobs[0]!.id);
      await waitFor(() => reasons.size > 0, { what: 'the cancelled job to be given up', timeoutMs: 5000 });
      // Three heartbeats later, the other two still run under their lease.
      const from = heartbeats;
      await waitFor(() => heartbeats >= from + 3, { what: 'three more heartbeats' });
      assert.deepEqual([...reasons], [[jobs[0]!.id, 'lease_lost']]);
      assert.equal(worker.running, 2);
      for (const j of jobs.slice(1)) assert.equal((await client.get(j.id)).status, 'processing');
    } finally {
      await worker.stop(0);
    }
  });

  it("'auto' claims ahead for short jobs (never running more than the concurrency) and nothing extra for long ones", async () => {
    const short = queue();
    const { g, enter, leave } = gauge();
    const fast = client.runWorker({
      queues: { [short]: { concurrency: 10 } },
      handlers: { add: async (job) => (enter(), await Promise.resolve(), leave(), job.payload.a) },
      handleSignals: false,
      logger: quiet,
    });
    try {
      for (let k = 0; k < 2; k++) await client.enqueueMany(Array.from({ length: 1000 }, (_, i) => ({ type: 'add' as const, payload: { a: i }, queue: short })));
      await waitFor(async () => (await counts(short)).completed === 2000, { what: '2,000 short jobs', timeoutMs: 30_000 });
      const maxes = asked.get(short)!;
      assert.ok(Math.max(...maxes) > 10, `some claim asked beyond the 10 slots: ${maxes.join(',')}`);
      assert.ok(Math.max(...maxes) <= 20, `never more than one batch ahead: ${maxes.join(',')}`);
      assert.ok(g.most <= 10, `at most 10 handlers at once (saw ${g.most})`);
    } finally {
      await fast.stop();
    }

    const long = queue();
    const slow = client.runWorker({
      queues: { [long]: { concurrency: 2 } },
      handlers: { slow: (job) => new Promise((r) => setTimeout(r, job.payload.ms)) },
      handleSignals: false,
      logger: quiet,
    });
    try {
      await client.enqueueMany(Array.from({ length: 8 }, () => ({ type: 'slow' as const, payload: { ms: 300 }, queue: long })));
      await waitFor(async () => (await counts(long)).completed === 8, { what: '8 jobs of 300 ms', timeoutMs: 20_000 });
      const maxes = asked.get(long)!;
      assert.ok(
        maxes.every((m) => m <= 2),
        `every claim asked for free slots only: ${maxes.join(',')}`,
      );
    } finally {
      await slow.stop();
    }
  });

  it("'auto' gives a job held ahead back, attempt unspent, when a slow job keeps the slot, and claims none ahead until the slot frees", async () => {
    const q = queue();
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 1 } },
      heartbeatIntervalMs: 100,
      handlers: { add: (job) => job.payload.a, hold: () => holding },
      handleSignals: false,
      logger: quiet,
    });
    try {
      // Quick jobs first: the worker learns that its slot finishes one during each claim's trip.
      await client.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ type: 'add' as const, payload: { a: i }, queue: q })));
      await waitFor(async () => (await counts(q)).completed === 200, { what: '200 quick jobs', timeoutMs: 20_000 });
      const [slow, quick] = await client.enqueueMany([
        { type: 'hold', payload: null, queue: q },
        { type: 'add', payload: { a: 1 }, queue: q },
      ]);
      await waitFor(async () => worker.running === 1 && (await client.get(quick!.id)).status === 'processing', { what: 'the slow job running, the quick one held' });
      // Held 50 ms at least (4 usual run times, here far less): then back, for any worker.
      await waitFor(async () => (await client.get(quick!.id)).status === 'pending', { what: 'the held job given back', timeoutMs: 5000 });
      assert.equal((await client.get(quick!.id)).attempts, 0, 'its attempt unspent');
      const claimsBefore = asked.get(q)!.length;
      const heartbeatsBefore = heartbeats;
      await waitFor(() => heartbeats >= heartbeatsBefore + 3, { what: 'three heartbeats while the slot stays taken' });
      assert.equal((await client.get(quick!.id)).status, 'pending', 'not taken back while the slot stays taken');
      assert.deepEqual(asked.get(q)!.slice(claimsBefore), [], 'no claim meanwhile');
      release();
      await waitFor(async () => (await client.get(quick!.id)).status === 'completed', { what: 'the quick job run once the slot freed' });
      assert.equal((await client.get(quick!.id)).attempts, 1);
      assert.equal((await client.get(slow!.id)).status, 'completed');
    } finally {
      release();
      await worker.stop();
    }
  });

  it('with two claims in flight and a fixed prefetch, no more than the concurrency runs and every job runs once', async () => {
    const q = queue();
    const { g, enter, leave } = gauge();
    const ran = new Map<number, number>();
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 4 } },
      claimsInFlight: 2,
      prefetch: 6,
      handlers: {
        slow: async (job) => {
          enter();
          await new Promise((r) => setTimeout(r, job.payload.ms));
          leave();
          ran.set(job.payload.ms, (ran.get(job.payload.ms) ?? 0) + 1);
        },
      },
      handleSignals: false,
      logger: quiet,
    });
    try {
      // Distinct run times (1..40 ms) name the jobs.
      await client.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ type: 'slow' as const, payload: { ms: i + 1 }, queue: q })));
      await waitFor(async () => (await counts(q)).completed === 40, { what: '40 jobs', timeoutMs: 20_000 });
      assert.ok(g.most <= 4, `at most 4 at once (saw ${g.most})`);
      assert.equal(ran.size, 40);
      assert.ok([...ran.values()].every((n) => n === 1), 'each ran once');
      assert.ok(Math.max(...asked.get(q)!) > 2, `a claim asked beyond its share of free slots: ${asked.get(q)!.join(',')}`);
    } finally {
      await worker.stop();
    }
  });

  it('refuses a prefetch that is not auto or an integer from 0 to 1,000, naming it', () => {
    for (const prefetch of [-1, 1.5, 1001, 'all']) {
      assert.throws(
        () => client.runWorker({ queues: ['never'], handlers: { add: () => 1 }, handleSignals: false, logger: quiet, prefetch } as never),
        (e: { code?: string; details?: { field?: string } }) => e.code === 'invalid_option' && e.details?.field === 'prefetch',
        String(prefetch),
      );
    }
  });
});

describe('ClaimAhead (how many jobs to claim beyond the free slots)', () => {
  /** An 'auto' figure that has seen one job run `runMs` and one claim take `tripMs`. */
  const seen = (concurrency: number, runMs: number, tripMs: number) => {
    const a = new ClaimAhead(concurrency, null);
    a.ran(runMs);
    a.travelled(tripMs);
    return a;
  };

  it('claims nothing ahead until it has seen a job run and a claim travel', () => {
    const a = new ClaimAhead(50, null);
    assert.equal(a.jobs, 0);
    a.ran(0.01);
    assert.equal(a.jobs, 0, 'no round trip seen yet');
  });

  it('holds what the slots finish during one round trip: one batch at most for short jobs, none for long ones', () => {
    assert.equal(seen(50, 0.02, 2).jobs, 50, 'no-op jobs: one more batch');
    assert.equal(seen(50, 10, 2).jobs, 10, '50 slots × 2 ms ÷ 10 ms');
    assert.equal(seen(50, 1000, 2).jobs, 0, 'under one job finishes per round trip');
  });

  it('follows the work: run times that grow bring the figure down', () => {
    const a = seen(20, 0.05, 1);
    assert.equal(a.jobs, 20);
    for (let i = 0; i < 60; i++) a.ran(500);
    assert.equal(a.jobs, 0);
  });

  it('a fixed figure is used as given (0: none)', () => {
    assert.equal(new ClaimAhead(50, 0).jobs, 0);
    const seven = new ClaimAhead(50, 7);
    seven.ran(1000);
    assert.equal(seven.jobs, 7);
  });
});
