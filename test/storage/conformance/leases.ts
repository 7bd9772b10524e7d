/** Conformance: everything a worker does under its lease, fenced by the token, and expired leases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ERRORS_KEPT, OPERATIONS, type JobError, type LeasedJob } from '../../../src/contracts/job.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';
import { NO_LIMITS } from '../../../src/contracts/store.js';
import { claim, completed, failed, finish, LEASE, MAX_QUEUES, peer, retry, T0, type Ctx } from './ctx.js';

export function leaseSection(ctx: Ctx): void {
  async function oneClaimed(input: { queue?: string; type?: string; maxAttempts?: number } = {}): Promise<LeasedJob> {
    await ctx.store.jobInsertMany({ jobs: [newRecord(T0, input)] });
    const [job] = await claim(ctx.store, input.queue ?? 'default');
    assert.ok(job);
    return job;
  }

  describe('ordering keys', () => {
    it('starts the jobs of one ordering key one at a time, in enqueue order, also through a handle that claimed from the queue before it held any', async (t) => {
      if (!ctx.store.capabilities.orderingKeys) return t.skip('this backend keeps no order per key (Postgres only)');
      const other = (await peer(ctx)) ?? ctx.store;
      // The other handle claims from the queue while it holds no ordering key (it takes the plain path).
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0, { queue: 'ord' })] });
      const [early] = await claim(other, 'ord');
      assert.ok(early);
      await finish(other, early, completed(), T0);
      const k1 = { ...newRecord(T0, { queue: 'ord' }), orderingKey: 'acct-1' };
      const k2 = { ...newRecord(T0, { queue: 'ord' }), orderingKey: 'acct-1' };
      const free = newRecord(T0, { queue: 'ord' });
      await ctx.store.jobInsertMany({ jobs: [k1, k2, free] });
      const first = await claim(ctx.store, 'ord');
      assert.deepEqual(first.map((j) => j.id), [k1.id, free.id], 'the second job of the key waits for the first');
      assert.deepEqual(await claim(other, 'ord'), [], 'nor does the other handle take it');
      assert.ok(await finish(ctx.store, first[0]!, completed(), T0 + 1));
      assert.deepEqual((await claim(other, 'ord', 10, T0 + 1)).map((j) => j.id), [k2.id], 'then the next one of the key starts');
    });

    it('keeps the order per key in a queue under flow control too', async (t) => {
      if (!ctx.store.capabilities.orderingKeys) return t.skip('this backend keeps no order per key (Postgres only)');
      await ctx.store.queueConfigure({ name: 'ord-limited', settings: { ...NO_LIMITS, concurrency: 10 }, maxQueues: MAX_QUEUES, now: T0 });
      const k1 = { ...newRecord(T0, { queue: 'ord-limited' }), orderingKey: 'acct-2' };
      const k2 = { ...newRecord(T0, { queue: 'ord-limited' }), orderingKey: 'acct-2' };
      const free = newRecord(T0, { queue: 'ord-limited' });
      await ctx.store.jobInsertMany({ jobs: [k1, k2, free] });
      const first = await claim(ctx.store, 'ord-limited');
      assert.deepEqual(first.map((j) => j.id).sort(), [k1.id, free.id].sort(), 'the second job of the key waits for the first');
      assert.deepEqual((await claim(ctx.store, 'ord-limited', 10, T0 + 1)).map((j) => j.id), [], 'nor later, while the first runs');
      assert.ok(await finish(ctx.store, first.find((j) => j.id === k1.id)!, completed(), T0 + 2));
      assert.deepEqual((await claim(ctx.store, 'ord-limited', 10, T0 + 3)).map((j) => j.id), [k2.id]);
    });
  });

  describe('leases and finishing', () => {
    it('extends a lease only with the right token', async () => {
      const job = await oneClaimed();
      const ok = await ctx.store.jobExtendLeases({ leases: [{ id: job.id, leaseToken: job.leaseToken }, { id: job.id, leaseToken: 'wrong' }], now: T0 + 5000, leaseMs: LEASE });
      assert.deepEqual(ok, [job.id]);
      assert.equal((await ctx.store.jobGet(job.id))?.leaseExpiresAt, T0 + 5000 + LEASE);
      assert.deepEqual(await ctx.store.jobExtendLeases({ leases: [{ id: job.id, leaseToken: 'wrong' }], now: T0, leaseMs: LEASE }), []);
    });

    it('completes with the right token only, once, keeping the result; answers with the job', async () => {
      const job = await oneClaimed({ queue: 'q', type: 't' });
      assert.equal(await finish(ctx.store, { ...job, leaseToken: 'wrong' }, completed('1'), T0 + 1), false);
      assert.equal((await ctx.store.jobGet(job.id))?.status, 'processing');
      const done = await ctx.store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: completed('{"ok":true}') }], now: T0 + 2 });
      assert.deepEqual(done, [{ id: job.id, queue: 'q', type: 't', attempts: 1 }]);
      assert.equal(await finish(ctx.store, job, failed(), T0 + 3), false, 'a finished job cannot be finished again');
      const stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'completed');
      assert.deepEqual(stored?.result, { ok: true });
      assert.equal(stored?.finishedAt, T0 + 2);
      assert.equal(stored?.leaseExpiresAt, null);
    });

    it('a completion carrying what its worker knows of the job (`leased`) is answered the same; a stale or repeated one changes nothing', async () => {
      const job = await oneClaimed({ queue: 'q', type: 't' });
      const leased = { queue: job.queue, type: job.type, attempts: job.attempts };
      assert.deepEqual(await ctx.store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: 'wrong', outcome: completed('1'), leased }], now: T0 + 1 }), []);
      assert.equal((await ctx.store.jobGet(job.id))?.status, 'processing');
      const done = await ctx.store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: completed('{"ok":true}'), leased }], now: T0 + 2 });
      assert.deepEqual(done, [{ id: job.id, queue: 'q', type: 't', attempts: 1 }]);
      assert.deepEqual(await ctx.store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: completed('2'), leased }], now: T0 + 3 }), [], 'once only');
      const stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'completed');
      assert.deepEqual(stored?.result, { ok: true });
      assert.equal(stored?.finishedAt, T0 + 2);
      assert.equal(stored?.leaseExpiresAt, null);
    });

    it('puts a retry back in line with the status the core chose, keeping the error', async () => {
      const job = await oneClaimed();
      await finish(ctx.store, job, retry(T0 + 4000, T0, 1, 'first'), T0);
      let stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'scheduled');
      assert.equal(stored?.runAt, T0 + 4000);
      assert.deepEqual(stored?.errors.map((e) => e.message), ['first']);
      const [again] = await claim(ctx.store, 'default', 1, T0 + 4000);
      assert.equal(again?.attempts, 2);
      await finish(ctx.store, again!, retry(T0 + 4000, T0 + 4000, 2, 'second'), T0 + 4000);
      stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'pending');
      assert.deepEqual(stored?.errors.map((e) => [e.attempt, e.message]), [[1, 'first'], [2, 'second']]);
    });

    it('fails with the error history kept, stack included, text stored as given', async () => {
      const job = await oneClaimed();
      const e: JobError = { attempt: 1, message: 'bad \uFFFD 😀 "quoted" \\ \u2028', stack: 'Error: bad\n    at x', at: T0 };
      await ctx.store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: { kind: 'failed', error: e } }], now: T0 + 9 });
      const stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'failed');
      assert.equal(stored?.finishedAt, T0 + 9);
      assert.deepEqual(stored?.errors, [e]);
    });

    it(`keeps the first error and the most recent ones, ${MAX_ERRORS_KEPT} in all, however often a job is retried`, async () => {
      const job = await oneClaimed({ maxAttempts: 1 });
      let lease: LeasedJob = job;
      for (let i = 1; i <= MAX_ERRORS_KEPT + 7; i++) {
        await finish(ctx.store, lease, failed(1, `run ${i}`), T0 + i);
        await ctx.store.jobRetry({ id: job.id, from: OPERATIONS.retry.from, now: T0 + i });
        [lease] = (await claim(ctx.store, 'default', 1, T0 + i)) as [LeasedJob];
      }
      const errors = (await ctx.store.jobGet(job.id))!.errors.map((e) => e.message);
      assert.equal(errors.length, MAX_ERRORS_KEPT);
      assert.equal(errors[0], 'run 1', 'the first error is kept');
      assert.equal(errors.at(-1), `run ${MAX_ERRORS_KEPT + 7}`, 'the most recent is kept');
      assert.deepEqual(errors.slice(1), Array.from({ length: MAX_ERRORS_KEPT - 1 }, (_, i) => `run ${i + 9}`));
    });

    it('finishes many in one call, skipping those whose lease was lost', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      const [a, b, c] = await claim(ctx.store, 'default', 3);
      const done = await ctx.store.jobFinishMany({
        finishes: [
          { id: a!.id, leaseToken: a!.leaseToken, outcome: completed() },
          { id: b!.id, leaseToken: 'stale', outcome: completed() },
          { id: c!.id, leaseToken: c!.leaseToken, outcome: failed() },
        ],
        now: T0,
      });
      assert.deepEqual(done.map((d) => d.id).sort(), [a!.id, c!.id].sort());
    });

    it('releases back to pending without spending the attempt', async () => {
      const job = await oneClaimed();
      assert.deepEqual(await ctx.store.jobReleaseMany({ leases: [{ id: job.id, leaseToken: 'wrong' }], now: T0 }), []);
      assert.deepEqual((await ctx.store.jobReleaseMany({ leases: [{ id: job.id, leaseToken: job.leaseToken }], now: T0 + 1 })).map((r) => [r.id, r.attempts]), [[job.id, 0]]);
      const stored = await ctx.store.jobGet(job.id);
      assert.equal(stored?.status, 'pending');
      assert.equal(stored?.attempts, 0);
      assert.equal(stored?.leaseExpiresAt, null);
      assert.equal((await claim(ctx.store))[0]?.attempts, 1);
    });

    it('records progress under the lease only', async () => {
      const job = await oneClaimed();
      assert.equal(await ctx.store.jobSetProgress({ id: job.id, leaseToken: 'wrong', progress: 10, now: T0 }), null);
      assert.equal((await ctx.store.jobSetProgress({ id: job.id, leaseToken: job.leaseToken, progress: 42.5, now: T0 }))?.id, job.id);
      assert.equal((await ctx.store.jobGet(job.id))?.progress, 42.5);
    });
  });

  describe('expired leases', () => {
    it('lists expired leases oldest first, up to the limit, with what the core needs to decide', async () => {
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0, { maxAttempts: 2, type: 'a' }), newRecord(T0, { maxAttempts: 1, type: 'b' })] });
      const [first, second] = await claim(ctx.store, 'default', 2);
      await ctx.store.jobExtendLeases({ leases: [second!], now: T0 + 10, leaseMs: LEASE });
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0 + 20_000)] });
      const [fresh] = await claim(ctx.store, 'default', 1, T0 + 20_000);
      assert.deepEqual(await ctx.store.jobExpiredLeases({ now: T0 + LEASE - 1, limit: 100 }), [], 'nothing expired yet');
      const expired = await ctx.store.jobExpiredLeases({ now: T0 + LEASE + 10, limit: 100 });
      assert.deepEqual(expired, [
        { id: first!.id, leaseToken: first!.leaseToken, queue: 'default', type: 'a', attempts: 1, maxAttempts: 2 },
        { id: second!.id, leaseToken: second!.leaseToken, queue: 'default', type: 'b', attempts: 1, maxAttempts: 1 },
      ]);
      assert.equal((await ctx.store.jobExpiredLeases({ now: T0 + LEASE + 10, limit: 1 })).length, 1);
      // The core finishes them under the expired token; the old worker is then fenced out.
      await ctx.store.jobFinishMany({ finishes: [{ id: first!.id, leaseToken: first!.leaseToken, outcome: retry(T0 + LEASE + 1000, T0 + LEASE, 1, 'lease expired') }], now: T0 + LEASE });
      assert.equal(await finish(ctx.store, first!, completed(), T0 + LEASE + 1), false);
      assert.equal((await ctx.store.jobGet(fresh!.id))?.status, 'processing', 'a live lease is left alone');
      assert.deepEqual((await ctx.store.jobExpiredLeases({ now: T0 + LEASE + 10, limit: 100 })).map((e) => e.id), [second!.id]);
    });
  });
}
