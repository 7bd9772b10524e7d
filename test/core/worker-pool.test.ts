import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { PermanentJobError } from '../../src/contracts/errors.js';
import type { JobContext } from '../../src/core/handler.js';
import { settle } from '../helpers/fake-clock.js';
import { deferred, fakeJobq } from '../helpers/jobq-harness.js';
import { watchStoreCalls } from '../helpers/store-calls.js';

describe('worker pool', () => {
  it('runs a job and records its result, attempt and progress', async () => {
    const { jobq, clock } = fakeJobq();
    const seen: number[] = [];
    jobq.register('add', async (job, ctx) => {
      seen.push(ctx.attempt);
      await ctx.progress(50);
      const p = job.payload as { a: number; b: number };
      return p.a + p.b;
    });
    jobq.startWorkers();
    const job = await jobq.enqueue({ type: 'add', payload: { a: 2, b: 3 } });
    await clock.advance(0);
    const done = await jobq.get(job.id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.result, 5);
    assert.equal(done?.progress, 50);
    assert.deepEqual(seen, [1]);
    await jobq.close();
  });

  it('a handler may destructure its context: progress, dependencies, log, signal and attempt all work unbound', async () => {
    const { jobq, clock } = fakeJobq();
    const seen: unknown[] = [];
    jobq.register('parent', () => 'p');
    jobq.register('child', async (_job, { progress, dependencies, log, signal, attempt }) => {
      await progress(75);
      seen.push((await dependencies()).map((d) => d.result), typeof log.info, signal.aborted, attempt);
      return 'c';
    });
    jobq.startWorkers();
    const parent = await jobq.enqueue({ type: 'parent' });
    const child = await jobq.enqueue({ type: 'child', dependsOn: [parent.id] });
    await clock.advance(0);
    await clock.advance(0);
    const done = await jobq.get(child.id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.progress, 75);
    assert.deepEqual(seen, [['p'], 'function', false, 1]);
    await jobq.close();
  });

  it('retries with exponential backoff, then fails keeping every error', async () => {
    const { jobq, clock } = fakeJobq();
    const runsAt: number[] = [];
    jobq.register('flaky', () => {
      runsAt.push(clock.now());
      throw new Error(`attempt ${runsAt.length} broke`);
    });
    jobq.startWorkers();
    const t0 = clock.now();
    const job = await jobq.enqueue({ type: 'flaky', maxAttempts: 3 });
    await clock.advance(0);
    let stored = await jobq.get(job.id);
    assert.equal(stored?.status, 'scheduled');
    assert.equal(stored?.runAt, t0 + 1000);
    await clock.advance(999);
    assert.equal(runsAt.length, 1, 'not before the backoff');
    await clock.advance(1);
    assert.equal(runsAt.length, 2);
    await clock.advance(2000);
    assert.deepEqual(runsAt.map((t) => t - t0), [0, 1000, 3000]);
    stored = await jobq.get(job.id);
    assert.equal(stored?.status, 'failed');
    assert.equal(stored?.attempts, 3);
    assert.deepEqual(stored?.errors.map((e) => e.message), ['attempt 1 broke', 'attempt 2 broke', 'attempt 3 broke']);
    assert.match(stored?.errors[0]?.stack ?? '', /attempt 1 broke\n\s+at /);
    await jobq.close();
  });

  it('applies jitter within bounds and caps the delay', async () => {
    const { jobq, clock } = fakeJobq({ random: () => 1, retry: { baseDelayMs: 1000, factor: 10, maxDelayMs: 5000, jitter: 0.5 } });
    jobq.register('fail', () => {
      throw new Error('x');
    });
    jobq.startWorkers();
    const t0 = clock.now();
    const job = await jobq.enqueue({ type: 'fail', maxAttempts: 5 });
    await clock.advance(0);
    assert.equal((await jobq.get(job.id))?.runAt, t0 + 500, '1000 ms less 50 % jitter');
    await clock.advance(500);
    assert.equal((await jobq.get(job.id))?.runAt, t0 + 500 + 2500, 'capped at 5000, less 50 %');
    await jobq.close();
  });

  it('fails at once on a permanent error and keeps non-Error throws readable', async () => {
    const { jobq, clock } = fakeJobq();
    jobq.register('perm', () => {
      throw new PermanentJobError('bad input');
    });
    jobq.register('weird', () => {
      throw { reason: 42 };
    });
    jobq.startWorkers();
    const a = await jobq.enqueue({ type: 'perm', maxAttempts: 5 });
    const b = await jobq.enqueue({ type: 'weird', maxAttempts: 1 });
    await clock.advance(0);
    const pa = await jobq.get(a.id);
    assert.equal(pa?.status, 'failed');
    assert.equal(pa?.attempts, 1);
    assert.equal(pa?.errors[0]?.message, 'bad input');
    assert.equal((await jobq.get(b.id))?.errors[0]?.message, 'non-Error thrown: {"reason":42}');
    await jobq.close();
  });

  it('claims only the types it has handlers for: others stay pending, counted as unhandled', async () => {
    const { jobq, clock } = fakeJobq();
    let ran = 0;
    jobq.register('known', () => void ran++);
    jobq.start();
    await clock.advance(0);
    const orphan = await jobq.enqueue({ type: 'nobody', maxAttempts: 3 });
    await jobq.enqueue({ type: 'known' });
    await clock.advance(0);
    await clock.advance(5000);
    assert.equal(ran, 1);
    const stored = await jobq.get(orphan.id);
    assert.equal(stored?.status, 'pending', 'no node here can run it: it waits, untouched');
    assert.equal(stored?.attempts, 0);
    const [q] = (await jobq.queues.list()).queues;
    assert.equal(q?.unhandled, 1);
    assert.deepEqual(q?.unhandledTypes, { nobody: 1 });
    await jobq.close();
  });

  it('an enqueue of a type it has no handler for wakes no claim here; one of a type it handles does', async () => {
    const { jobq, clock, store } = fakeJobq();
    let ran = 0;
    jobq.register('known', () => void ran++);
    jobq.start();
    await clock.advance(0);
    const calls = watchStoreCalls(store, 'default');
    try {
      await jobq.enqueue({ type: 'nobody' });
      await settle(10);
      assert.equal(calls.claims, 0, 'nobody here can run it: waking would be a claim that finds nothing');
      await jobq.enqueue({ type: 'known' });
      await settle(10);
      assert.equal(ran, 1);
      assert.equal(calls.claims >= 1, true, 'the handled type woke a claim');
    } finally {
      calls.restore();
      await jobq.close();
    }
  });

  it('warns once per queue and type that no live node handles, and never for a handled type', async () => {
    const lines: { msg: string; type?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; type?: string }) });
    const { jobq, clock } = fakeJobq({ logger });
    jobq.register('known', () => undefined);
    await jobq.start();
    await clock.advance(0);
    for (let i = 0; i < 3; i++) await jobq.enqueue({ type: 'nobody' });
    await jobq.enqueueMany([{ type: 'known' }, { type: 'nobody' }, { type: 'other' }]);
    await settle(10); // each miss is confirmed on a fresh read of the nodes first
    const warnings = lines.filter((l) => l.msg.startsWith('no running node handles'));
    assert.deepEqual(
      warnings.map((w) => w.type),
      ['nobody', 'other'],
    );
    await jobq.close();
  });

  it('does not warn about a type a node handles that started after this one last looked (the primary of --http-processes)', async () => {
    const lines: { msg: string; type?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; type?: string }) });
    const { jobq: api, clock, store } = fakeJobq({ logger, queues: {} });
    await api.start();
    await clock.advance(0); // the API node has read the live nodes: itself only
    const { jobq: worker } = fakeJobq({ store, clock });
    worker.register('late', () => undefined);
    await worker.start();
    await clock.advance(0);
    await api.enqueue({ type: 'late' });
    await api.enqueue({ type: 'nobody' });
    await settle(10);
    assert.deepEqual(
      lines.filter((l) => l.msg.startsWith('no running node handles')).map((w) => w.type),
      ['nobody'],
    );
    await worker.close();
    await api.close();
  });

  it('times out an attempt, aborts its signal, frees the slot and retries', async () => {
    const { jobq, clock } = fakeJobq({ queues: { default: { concurrency: 1 } } });
    const signals: AbortSignal[] = [];
    jobq.register('hang', (_job, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {}); // ignores its signal forever
    });
    jobq.register('quick', () => 'ok');
    jobq.startWorkers();
    const hang = await jobq.enqueue({ type: 'hang', timeoutMs: 500, maxAttempts: 2 });
    const quick = await jobq.enqueue({ type: 'quick' });
    await clock.advance(499);
    assert.equal((await jobq.get(quick.id))?.status, 'pending', 'the only slot is busy');
    await clock.advance(1);
    assert.equal(signals[0]?.aborted, true);
    assert.equal(signals[0]?.reason, 'timeout');
    assert.equal((await jobq.get(quick.id))?.status, 'completed', 'the slot was freed');
    const stored = await jobq.get(hang.id);
    assert.equal(stored?.status, 'scheduled');
    assert.match(stored?.errors[0]?.message ?? '', /timed out after 500 ms/);
    await jobq.close(0);
  });

  it('cancelling a running job aborts its handler and discards its result', async () => {
    const { jobq, clock } = fakeJobq();
    const gate = deferred<string>();
    let ctxSeen: JobContext | undefined;
    jobq.register('slow', (_job, ctx) => {
      ctxSeen = ctx;
      return gate.promise;
    });
    jobq.startWorkers();
    const job = await jobq.enqueue({ type: 'slow' });
    await clock.advance(0);
    assert.equal((await jobq.get(job.id))?.status, 'processing');
    await jobq.cancel(job.id);
    assert.equal(ctxSeen?.signal.reason, 'cancelled');
    gate.resolve('too late');
    await clock.advance(0);
    const stored = await jobq.get(job.id);
    assert.equal(stored?.status, 'cancelled');
    assert.equal(stored?.result, null);
    await jobq.close();
  });

  it('heartbeats keep a long job leased; a lost lease aborts it', async () => {
    const { jobq, clock, store } = fakeJobq();
    let ctxSeen: JobContext | undefined;
    jobq.register('long', (_job, ctx) => {
      ctxSeen = ctx;
      return new Promise(() => {});
    });
    jobq.startWorkers();
    const job = await jobq.enqueue({ type: 'long' });
    await clock.advance(0);
    for (let i = 0; i < 10; i++) await clock.advance(1000);
    const stored = await jobq.get(job.id);
    assert.equal(stored?.status, 'processing', 'ten seconds on a 3 s lease, still held');
    assert.ok((stored?.leaseExpiresAt ?? 0) > clock.now());
    // Another node cancels it directly in the store: this node only learns at its next heartbeat.
    await store.jobCancel({ id: job.id, from: ['processing'], now: clock.now() });
    assert.equal(ctxSeen?.signal.aborted, false);
    await clock.advance(1000);
    assert.equal(ctxSeen?.signal.reason, 'lease_lost');
    assert.equal(jobq.runningJobs, 0);
    await jobq.close(0);
  });

  it('rescues a job whose worker died, and runs it again', async () => {
    const { jobq, clock, store } = fakeJobq();
    const runs: number[] = [];
    jobq.register('work', (_job, ctx) => void runs.push(ctx.attempt));
    const job = await jobq.enqueue({ type: 'work' });
    // A worker elsewhere claims it and dies without a word.
    const [claimed] = await store.jobClaim({ queue: 'default', types: null, limit: 1, now: clock.now(), leaseMs: 3000, leaseToken: 'dead-worker' });
    assert.equal(claimed?.id, job.id);
    jobq.startWorkers();
    await clock.advance(2999);
    assert.deepEqual(runs, []);
    await clock.advance(3000);
    const stored = await jobq.get(job.id);
    assert.equal(stored?.status, 'completed');
    assert.deepEqual(runs, [2], 'the dead worker spent attempt 1');
    assert.match(stored?.errors[0]?.message ?? '', /lease expired/);
    await jobq.close();
  });

  it('never runs more than the queue concurrency at once, and claims in batches', async () => {
    const { jobq, clock, store } = fakeJobq({ queues: { default: { concurrency: 3 } } });
    let claims = 0;
    const claim = store.jobClaim.bind(store);
    store.jobClaim = async (p) => {
      claims++;
      return claim(p);
    };
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    jobq.register('gate', () => {
      running++;
      peak = Math.max(peak, running);
      return new Promise<void>((r) => gates.push(() => (running--, r())));
    });
    jobq.startWorkers();
    await jobq.enqueueMany(Array.from({ length: 9 }, () => ({ type: 'gate' })));
    await clock.advance(0);
    assert.equal(running, 3);
    const claimsAfterFirst = claims;
    for (const open of gates.splice(0)) open();
    await clock.advance(0);
    assert.equal(running, 3);
    assert.equal(claims - claimsAfterFirst, 1, 'three freed slots, one claim');
    while (gates.length) {
      for (const open of gates.splice(0)) open();
      await clock.advance(0);
    }
    assert.equal(peak, 3);
    assert.equal((await jobq.queues.list()).queues[0]?.counts.completed, 9);
    await jobq.close();
  });

  it('runs a delayed job when it falls due, not before', async () => {
    const { jobq, clock } = fakeJobq({ pollIntervalMs: 60_000 });
    const ran: number[] = [];
    jobq.register('later', () => void ran.push(clock.now()));
    jobq.startWorkers();
    const t0 = clock.now();
    const job = await jobq.enqueue({ type: 'later', delayMs: 5000 });
    assert.equal(job.status, 'scheduled');
    await clock.advance(4999);
    assert.deepEqual(ran, []);
    await clock.advance(1);
    assert.deepEqual(ran, [t0 + 5000], 'woken by the due timer, not the 60 s poll');
    await jobq.close();
  });

  it('pauses and resumes a queue', async () => {
    const { jobq, clock } = fakeJobq();
    let runs = 0;
    jobq.register('t', () => void runs++);
    jobq.startWorkers();
    await jobq.queues.pause('default');
    await jobq.enqueue({ type: 't' });
    await clock.advance(1000);
    assert.equal(runs, 0);
    await jobq.queues.resume('default');
    await clock.advance(0);
    assert.equal(runs, 1);
    await jobq.close();
  });

  describe('graceful stop', () => {
    it('lets running jobs finish within the grace period', async () => {
      const { jobq, clock } = fakeJobq();
      const gate = deferred<string>();
      jobq.register('slow', () => gate.promise);
      jobq.startWorkers();
      const job = await jobq.enqueue({ type: 'slow' });
      await clock.advance(0);
      const stopping = jobq.stop(5000);
      assert.equal(jobq.stop(5000), stopping, 'stop twice waits on the first');
      await clock.advance(1000);
      gate.resolve('done');
      await stopping;
      assert.equal((await jobq.get(job.id))?.status, 'completed');
      await jobq.close();
    });

    it('releases jobs still running after the grace period without spending an attempt', async () => {
      const { jobq, clock } = fakeJobq();
      let ctxSeen: JobContext | undefined;
      jobq.register('stuck', (_job, ctx) => {
        ctxSeen = ctx;
        return new Promise(() => {});
      });
      jobq.register('other', () => 'x');
      jobq.startWorkers();
      const job = await jobq.enqueue({ type: 'stuck' });
      await clock.advance(0);
      const stopping = jobq.stop(2000);
      const other = await jobq.enqueue({ type: 'other' });
      await clock.advance(2000);
      await stopping;
      assert.equal(ctxSeen?.signal.reason, 'shutdown');
      const stored = await jobq.get(job.id);
      assert.equal(stored?.status, 'pending');
      assert.equal(stored?.attempts, 0);
      assert.equal((await jobq.get(other.id))?.status, 'pending', 'no claims after stop began');
      await settle();
      await jobq.close();
    });
  });
});
