/**
 * Issue #13: `client.runWorker()` against a real server over loopback: the
 * in-process handler signature and semantics (result, retry, permanent
 * failure, throttle, progress, timeout, lost lease firing the signal),
 * batched finishes, graceful stop releasing what is unfinished, a refused
 * token stopping the worker, and `waitFor`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobqClient, PermanentJobError, RateLimitedError, type JobContext } from '../../src/client/index.js';
import type { Job } from '../../src/contracts/job.js';
import { consoleLogger } from '../../src/client/worker-logger.js';
import { TokenService } from '../../src/http/auth/token-service.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { watchStoreCalls } from '../helpers/store-calls.js';
import { waitFor } from '../helpers/wait-for.js';

type Jobs = { add: { a: number; b: number }; flaky: { failTimes: number }; hold: { ms: number }; permanent: null; throttled: null; slow: { ms: number } };

const quiet = consoleLogger('silent');
let s: TestServer;
let client: JobqClient<Jobs>;
let n = 0;
const queue = () => `rw-${++n}`;

describe('remote worker (client.runWorker) against a real server', () => {
  /**
   * Completions per request, as the server applies them: a request's
   * completions reach jobq.complete in one synchronous run (lease-finishes.ts),
   * so calls before the next microtask belong to one request.
   */
  const completionBatches: number[] = [];
  /** Leases per heartbeat request, in order. */
  const heartbeats: number[] = [];
  before(async () => {
    s = await startTestServer({ jobq: { retry: { baseDelayMs: 50, factor: 1, jitter: 0 } } });
    let inBatch = false;
    const complete = s.jobq.complete.bind(s.jobq);
    s.jobq.complete = (lease, result) => {
      if (!inBatch) {
        inBatch = true;
        completionBatches.push(0);
        queueMicrotask(() => (inBatch = false));
      }
      completionBatches[completionBatches.length - 1]!++;
      return complete(lease, result);
    };
    const extend = s.jobq.extend.bind(s.jobq);
    s.jobq.extend = (leases, leaseMs) => {
      heartbeats.push(leases.length);
      return extend(leases, leaseMs);
    };
    client = new JobqClient<Jobs>({ url: s.url });
  });
  after(async () => {
    await s.close();
  });

  it('runs handlers with the in-process signature: typed payload, ctx.attempt, ctx.progress, results, retries, permanent failures', async () => {
    const q = queue();
    const attempts: number[] = [];
    const worker = client.runWorker({
      queues: [q],
      handlers: {
        add: async (job, ctx) => {
          await ctx.progress(50);
          return { sum: job.payload.a + job.payload.b, attempt: ctx.attempt, createdIsNumber: typeof job.createdAt === 'number' };
        },
        flaky: (job, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt <= job.payload.failTimes) throw new Error(`flake ${ctx.attempt}`);
          return 'finally';
        },
        permanent: () => {
          throw new PermanentJobError('never');
        },
      },
      handleSignals: false,
      logger: quiet,
    });
    try {
      const add = await client.enqueue({ type: 'add', payload: { a: 2, b: 3 }, queue: q });
      const flaky = await client.enqueue({ type: 'flaky', payload: { failTimes: 2 }, queue: q, maxAttempts: 3 });
      const perm = await client.enqueue({ type: 'permanent', payload: null, queue: q, maxAttempts: 5 });
      const doneAdd = await client.waitFor(add.id, { timeoutMs: 10_000 });
      assert.equal(doneAdd.status, 'completed');
      assert.deepEqual(doneAdd.result, { sum: 5, attempt: 1, createdIsNumber: true });
      assert.equal(doneAdd.progress, 50);
      const doneFlaky = await client.waitFor(flaky.id, { timeoutMs: 10_000 });
      assert.equal(doneFlaky.status, 'completed');
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(doneFlaky.errors.map((e) => e.message), ['flake 1', 'flake 2']);
      assert.match(doneFlaky.errors[0]!.stack ?? '', /flake 1\n\s+at /, 'the handler stack is kept');
      const donePerm = await client.waitFor(perm.id, { timeoutMs: 10_000 });
      assert.deepEqual([donePerm.status, donePerm.attempts, donePerm.errors[0]?.message], ['failed', 1, 'never']);
    } finally {
      await worker.stop();
    }
    await worker.done;
  });

  it('a RateLimitedError runs again after its delay with the attempt given back; a timeout fires the signal and fails the attempt', async () => {
    const q = queue();
    const reasons: unknown[] = [];
    let calls = 0;
    const worker = client.runWorker({
      queues: [q],
      handlers: {
        throttled: () => {
          if (++calls === 1) throw new RateLimitedError({ retryAfterMs: 300 });
          return 'ok';
        },
        slow: (job, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              reasons.push(ctx.signal.reason);
              reject(new Error('aborted'));
            });
            setTimeout(() => reject(new Error('not aborted')), job.payload.ms).unref();
          }),
      },
      handleSignals: false,
      logger: quiet,
    });
    try {
      const t0 = Date.now();
      const th = await client.enqueue({ type: 'throttled', payload: null, queue: q });
      const slow = await client.enqueue({ type: 'slow', payload: { ms: 5000 }, queue: q, timeoutMs: 200, maxAttempts: 1 });
      const doneTh = await client.waitFor(th.id, { timeoutMs: 10_000 });
      assert.equal(doneTh.status, 'completed');
      assert.ok(Date.now() - t0 >= 300, 'ran again only after retryAfterMs');
      assert.deepEqual([calls, doneTh.attempts, doneTh.errors.length], [2, 1, 0], 'the throttled attempt was given back, as in process');
      const doneSlow = await client.waitFor(slow.id, { timeoutMs: 10_000 });
      assert.deepEqual([doneSlow.status, doneSlow.errors[0]?.message], ['failed', 'timed out after 200 ms']);
      assert.deepEqual(reasons, ['timeout']);
    } finally {
      await worker.stop();
    }
  });

  it('a lost lease (the job cancelled on the server) fires the signal with lease_lost and frees the slot', async () => {
    const q = queue();
    let signalled: unknown = null;
    let started = 0;
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 1 } },
      handlers: {
        hold: (_job, ctx: JobContext) => {
          started++;
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((signalled = ctx.signal.reason))));
        },
        add: (job) => job.payload.a + job.payload.b,
      },
      leaseMs: 1500,
      handleSignals: false,
      logger: quiet,
    });
    try {
      const held = await client.enqueue({ type: 'hold', payload: { ms: 0 }, queue: q });
      await waitFor(() => started === 1, { what: 'the hold job to start' });
      const next = await client.enqueue({ type: 'add', payload: { a: 1, b: 1 }, queue: q });
      await client.cancel(held.id);
      await waitFor(() => signalled !== null, { what: 'the signal to fire', timeoutMs: 5000 });
      assert.equal(signalled, 'lease_lost');
      const done = await client.waitFor(next.id, { timeoutMs: 10_000 });
      assert.equal(done.result, 2, 'the freed slot took the next job (concurrency 1)');
      assert.equal((await client.get(held.id)).status, 'cancelled', 'the abandoned result changed nothing');
    } finally {
      await worker.stop();
    }
  });

  it('batches finishes: 300 jobs reported in far fewer requests', async () => {
    const q = queue();
    const worker = client.runWorker({ queues: { [q]: { concurrency: 50 } }, handlers: { add: (job) => job.payload.a }, handleSignals: false, logger: quiet });
    try {
      const before = completionBatches.length;
      const jobs = await client.enqueueMany(Array.from({ length: 300 }, (_, i) => ({ type: 'add' as const, payload: { a: i, b: 0 }, queue: q })));
      await waitFor(async () => ((await client.queues()).queues.find((x) => x.name === q)?.counts.completed ?? 0) === 300, { what: '300 completions', timeoutMs: 20_000 });
      const batches = completionBatches.slice(before);
      assert.equal(
        batches.reduce((a, b) => a + b, 0),
        300,
        'every completion reached the server once',
      );
      assert.ok(batches.length < 100, `300 completions in ${batches.length} requests: ${batches.join(', ')}`);
      assert.equal((await client.get(jobs[299]!.id)).result, 299);
    } finally {
      await worker.stop();
    }
  });

  it('batches heartbeats: one request extends every running lease, and the leases outlive leaseMs', async () => {
    const q = queue();
    let started = 0;
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 20 } },
      handlers: {
        hold: (_job, ctx) => {
          started++;
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null)));
        },
      },
      leaseMs: 1000,
      heartbeatIntervalMs: 100,
      handleSignals: false,
      logger: quiet,
    });
    try {
      const jobs = await client.enqueueMany(Array.from({ length: 20 }, () => ({ type: 'hold' as const, payload: { ms: 0 }, queue: q })));
      await waitFor(() => started === 20, { what: 'the 20 jobs to start' });
      const from = heartbeats.length;
      const t0 = Date.now();
      // Heartbeats for twice the lease: without them every lease would have expired.
      await waitFor(() => Date.now() - t0 > 2000 && heartbeats.length - from >= 3, { what: 'heartbeats over two leases', timeoutMs: 10_000 });
      const beats = heartbeats.slice(from);
      assert.ok(beats.every((n) => n === 20), `every heartbeat carried the 20 leases: ${beats.join(', ')}`);
      assert.equal(worker.running, 20, 'no lease was lost');
      for (const j of jobs) assert.equal((await client.get(j.id)).status, 'processing');
    } finally {
      await worker.stop(0);
    }
  });

  it('stops gracefully: running jobs get the grace period, the rest are released with their attempt unspent', async () => {
    const q = queue();
    const worker = client.runWorker({
      queues: { [q]: { concurrency: 2 } },
      handlers: { slow: (job) => new Promise((r) => setTimeout(() => r('done'), job.payload.ms)), hold: () => new Promise(() => {}) },
      handleSignals: false,
      logger: quiet,
    });
    const quick = await client.enqueue({ type: 'slow', payload: { ms: 100 }, queue: q });
    const stuck = await client.enqueue({ type: 'hold', payload: { ms: 0 }, queue: q });
    await waitFor(async () => (await client.get(stuck.id)).status === 'processing' && (await client.get(quick.id)).status === 'processing', { what: 'both to start' });
    await worker.stop(500);
    await worker.done;
    assert.equal(worker.running, 0);
    assert.equal((await client.get(quick.id)).status, 'completed', 'finished within the grace period');
    const released = await client.get(stuck.id);
    assert.deepEqual([released.status, released.attempts], ['pending', 0], 'released, attempt not spent');
  });

  it('stops with a clear error when the server refuses its token (revoked)', async () => {
    const own = await startTestServer();
    try {
      const service = new TokenService(own.jobq.store);
      await service.create({ name: 'admin', scopes: ['admin'] });
      const { secret } = await service.create({ name: 'w', scopes: ['worker'] });
      const lines: string[] = [];
      const worker = new JobqClient({ url: own.url, token: secret }).runWorker({
        queues: ['r'],
        handlers: { x: () => 1 },
        waitMs: 500,
        handleSignals: false,
        logger: consoleLogger('info', {}, (l) => void lines.push(l)),
      });
      // Revoked while its claim waits on the server (not before the worker got going).
      const calls = watchStoreCalls(own.jobq.store, 'r');
      await waitFor(() => calls.claims >= 1 && calls.dueReads >= 1, { what: "the worker's claim to wait" }).finally(() => calls.restore());
      await service.revoke('w');
      const err = await worker.done.then(
        () => null,
        (e: unknown) => e,
      );
      assert.equal((err as { code?: string } | null)?.code, 'unauthorized');
      assert.ok(lines.some((l) => l.includes("refused this worker's token (unauthorized")), lines.join(''));
      assert.ok(!lines.some((l) => l.includes(secret)), 'the secret is never logged');
    } finally {
      await own.close();
    }
  });

  it('refuses options the server would refuse on every claim, naming the option, before it sends anything or starts a timer', () => {
    const refused = (options: Record<string, unknown>, field: string) =>
      assert.throws(
        () => client.runWorker({ queues: ['never'], handlers: { add: () => 1 }, handleSignals: false, logger: quiet, ...options } as never),
        (e: { code?: string; details?: { field?: string } }) => e.code === 'invalid_option' && e.details?.field === field,
        field,
      );
    refused({ leaseMs: 600 }, 'leaseMs');
    refused({ leaseMs: 4_000_000 }, 'leaseMs');
    refused({ leaseMs: 1500.5 }, 'leaseMs');
    refused({ heartbeatIntervalMs: 30_000 }, 'heartbeatIntervalMs');
    refused({ leaseMs: 2000, heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs');
    refused({ waitMs: -1 }, 'waitMs');
    refused({ shutdownTimeoutMs: -1 }, 'shutdownTimeoutMs');
    refused({ claimsInFlight: 0 }, 'claimsInFlight');
    refused({ concurrency: 0 }, 'concurrency');
    refused({ queues: [] }, 'queues');
    refused({ handlers: {} }, 'handlers');
  });

  it('waitFor rejects with timeout when the job does not finish in time', async () => {
    const job = await client.enqueue({ type: 'hold', payload: { ms: 0 }, queue: queue() });
    await assert.rejects(client.waitFor(job.id, { timeoutMs: 300 }), (e: { code?: string }) => e.code === 'timeout');
  });

  it('ctx.dependencies() reads the jobs a job depends on', async () => {
    const q = queue();
    let seen: Job[] = [];
    const worker = client.runWorker({
      queues: [q],
      handlers: {
        add: (job) => job.payload.a + job.payload.b,
        hold: async (_job, ctx) => {
          seen = await ctx.dependencies();
          return seen.length;
        },
      },
      handleSignals: false,
      logger: quiet,
    });
    try {
      const first = await client.enqueue({ type: 'add', payload: { a: 20, b: 1 }, queue: q });
      const parent = await client.enqueue({ type: 'hold', payload: { ms: 0 }, queue: q, dependsOn: [first.id] } as never);
      assert.equal((await client.waitFor(parent.id, { timeoutMs: 10_000 })).result, 1);
      assert.deepEqual(seen.map((j) => [j.id, j.result]), [[first.id, 21]]);
    } finally {
      await worker.stop();
    }
  });
});
