/** Conformance: inserting, reading, claiming, user operations, pruning. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { JOB_STATUSES, OPERATIONS, type JobStatus } from '../../../src/contracts/job.js';
import type { Store } from '../../../src/contracts/store.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';
import { claim, completed, failed, finish, LEASE, MAX_QUEUES, peer, T0, type Ctx } from './ctx.js';

/** Puts a fresh job into `status` through the interface only. */
async function jobIn(store: Store, status: JobStatus): Promise<string> {
  const queue = `ops-${randomUUID()}`;
  if (status === 'waiting') {
    const first = newRecord(T0, { queue });
    const then = { ...newRecord(T0, { queue }), dependsOn: [first.id] };
    await store.jobInsertMany({ jobs: [first, then] });
    return then.id;
  }
  const rec = newRecord(T0, status === 'scheduled' ? { delayMs: 60_000, queue } : { queue });
  await store.jobInsertMany({ jobs: [rec] });
  if (status === 'scheduled' || status === 'pending') return rec.id;
  const [job] = await claim(store, queue, 1);
  assert.equal(job?.id, rec.id);
  if (status === 'processing') return rec.id;
  if (status === 'cancelled') await store.jobCancel({ id: rec.id, from: ['processing'], now: T0 });
  else await finish(store, job!, status === 'completed' ? completed() : failed());
  return rec.id;
}

export function jobSection(ctx: Ctx): void {
  describe('insert, get', () => {
    it('stores every field and reads it back', async () => {
      const rec = newRecord(T0, { queue: 'q1', type: 'email', payload: { to: 'a@b.c', n: [1, 2.5, null], ü: '日本' }, priority: 7, maxAttempts: 4, timeoutMs: 900, concurrencyKey: 'tenant-1', rateKey: 'api-1' });
      await ctx.store.jobInsertMany({ jobs: [rec] });
      assert.deepEqual(await ctx.store.jobGet(rec.id), {
        id: rec.id, queue: 'q1', type: 'email', payload: { to: 'a@b.c', n: [1, 2.5, null], ü: '日本' }, status: 'pending',
        priority: 7, attempts: 0, maxAttempts: 4, timeoutMs: 900, runAt: T0, createdAt: T0, startedAt: null, finishedAt: null,
        updatedAt: T0, result: null, errors: [], progress: null, leaseExpiresAt: null, key: null, dependsOn: [], concurrencyKey: 'tenant-1', rateKey: 'api-1', traceContext: null,
      });
    });

    it('keeps the trace context an enqueue carried, on the job read back and on the claimed job (both insert paths)', async () => {
      const traceContext = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' };
      const queue = `trace-${randomUUID()}`;
      const plain = { ...newRecord(T0, { queue }), traceContext };
      const keyed = { ...newRecord(T0, { queue, key: `k-${randomUUID()}` }), traceContext: { traceparent: traceContext.traceparent } };
      const none = newRecord(T0, { queue });
      await ctx.store.jobInsertMany({ jobs: [plain] });
      await ctx.store.jobInsertMany({ jobs: [keyed, none] });
      assert.deepEqual((await ctx.store.jobGet(plain.id))?.traceContext, traceContext);
      assert.deepEqual((await ctx.store.jobGet(keyed.id))?.traceContext, { traceparent: traceContext.traceparent });
      assert.equal((await ctx.store.jobGet(none.id))?.traceContext, null);
      const claimed = await claim(ctx.store, queue, 3);
      assert.deepEqual(new Map(claimed.map((j) => [j.id, j.traceContext])), new Map<string, unknown>([[plain.id, traceContext], [keyed.id, { traceparent: traceContext.traceparent }], [none.id, null]]));
    });

    it('stores a batch of 1,000 jobs (bulk enqueue\'s size) field for field, text with tabs, newlines and backslashes included', async () => {
      const queue = `bulk-${randomUUID()}`;
      const odd = 'tab\there, newline\nthere, return\r, backslash \\ and \\N and \\.';
      const ordered = ctx.store.capabilities.orderingKeys === true;
      const recs = Array.from({ length: 1000 }, (_, i) => ({
        ...newRecord(T0, {
          queue, payload: { i, odd }, priority: i % 3, timeoutMs: i % 2 ? 500 + i : null, delayMs: i % 5 === 4 ? 60_000 : 0,
          ...(i % 7 === 0 ? { concurrencyKey: `${odd}${i % 3}` } : {}), ...(i % 6 === 0 ? { rateKey: odd } : {}),
        }),
        type: i % 2 ? odd : 'plain',
        // Jobs 1 and 2 share an ordering key: 2 may not start before 1 ends.
        orderingKey: ordered && (i === 1 || i === 2) ? odd : null,
        traceContext: i % 13 === 0 ? { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: odd } : null,
      }));
      await ctx.store.jobInsertMany({ jobs: recs });
      const stored = await Promise.all(recs.map((r) => ctx.store.jobGet(r.id)));
      for (const [i, r] of recs.entries()) {
        const j = stored[i];
        assert.deepEqual(
          j && [j.queue, j.type, j.payload, j.status, j.priority, j.maxAttempts, j.timeoutMs, j.runAt, j.createdAt, j.concurrencyKey, j.rateKey, j.traceContext],
          [queue, r.type, { i, odd }, r.status, r.priority, r.maxAttempts, r.timeoutMs, r.runAt, T0, r.concurrencyKey, r.rateKey, r.traceContext],
          `job ${i}`,
        );
      }
      const claimed = new Set((await claim(ctx.store, queue, 1000)).map((j) => j.id));
      const ready = recs.filter((r, i) => r.status === 'pending' && !(ordered && i === 2));
      assert.equal(claimed.size, ready.length);
      for (const r of ready) assert.ok(claimed.has(r.id), r.id);
    });

    it('returns null for an unknown id, and stores a future job as scheduled', async () => {
      assert.equal(await ctx.store.jobGet(randomUUID()), null);
      const rec = newRecord(T0, { delayMs: 5000 });
      await ctx.store.jobInsertMany({ jobs: [rec] });
      const job = await ctx.store.jobGet(rec.id);
      assert.equal(job?.status, 'scheduled');
      assert.equal(job?.runAt, T0 + 5000);
    });
  });

  describe('claim', () => {
    it('moves ready jobs to processing under a lease and counts the attempt', async () => {
      const rec = newRecord(T0);
      await ctx.store.jobInsertMany({ jobs: [rec] });
      const token = randomUUID();
      const [job] = await claim(ctx.store, 'default', 5, T0 + 10, token);
      assert.equal(job?.id, rec.id);
      assert.equal(job?.status, 'processing');
      assert.equal(job?.attempts, 1);
      assert.equal(job?.leaseToken, token);
      assert.equal(job?.leaseExpiresAt, T0 + 10 + LEASE);
      assert.equal(job?.startedAt, T0 + 10);
      assert.deepEqual(job?.payload, JSON.parse(rec.payloadJson));
      assert.deepEqual(await claim(ctx.store), [], 'a claimed job is not claimed again');
    });

    it('takes at most `limit` jobs, only from the named queue', async () => {
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 7, { queue: 'a' }), ...newRecords(T0, 3, { queue: 'b' })] });
      assert.equal((await claim(ctx.store, 'a', 5)).length, 5);
      assert.equal((await claim(ctx.store, 'a', 5)).length, 2);
      assert.equal((await claim(ctx.store, 'a', 5)).length, 0);
      assert.equal((await claim(ctx.store, 'b', 5)).length, 3);
      assert.equal((await claim(ctx.store, 'nope', 5)).length, 0);
    });

    it('orders by priority (higher first), then runAt, then insertion, across types', async () => {
      const low = newRecord(T0, { priority: -1, type: 'x' });
      const mid1 = newRecord(T0, { priority: 0, type: 'y' });
      const mid2 = newRecord(T0, { priority: 0, type: 'x' });
      const high = newRecord(T0, { priority: 5, type: 'y' });
      const midEarlier = newRecord(T0 - 1000, { priority: 0, type: 'z' });
      await ctx.store.jobInsertMany({ jobs: [low, mid1, mid2, high, midEarlier] });
      const order: string[] = [];
      for (let i = 0; i < 5; i++) order.push(...(await claim(ctx.store, 'default', 1, T0 + 1)).map((j) => j.id));
      assert.deepEqual(order, [high.id, midEarlier.id, mid1.id, mid2.id, low.id]);
      const batch = newRecords(T0, 5);
      await ctx.store.jobInsertMany({ jobs: batch });
      assert.deepEqual((await claim(ctx.store, 'default', 5, T0 + 1)).map((j) => j.id), batch.map((r) => r.id), 'a batch comes back in order');
    });

    it('claims only the types asked for, in claim order across them; other types stay pending', async () => {
      const email1 = newRecord(T0, { type: 'email', priority: 1 });
      const resize = newRecord(T0, { type: 'resize', priority: 9 });
      const email2 = newRecord(T0, { type: 'email', priority: 3 });
      const sms = newRecord(T0, { type: 'sms', priority: 2 });
      const later = newRecord(T0, { type: 'email', delayMs: 1000 });
      await ctx.store.jobInsertMany({ jobs: [email1, resize, email2, sms, later] });
      const got = await claim(ctx.store, 'default', 10, T0, randomUUID(), ['email', 'sms', 'unknown']);
      assert.deepEqual(got.map((j) => j.id), [email2.id, sms.id, email1.id]);
      assert.equal((await ctx.store.jobGet(resize.id))?.status, 'pending', 'a type nobody asked for is left alone');
      assert.deepEqual(await claim(ctx.store, 'default', 10, T0, randomUUID(), ['nobody']), []);
      assert.deepEqual((await claim(ctx.store, 'default', 10, T0 + 1000, randomUUID(), ['email'])).map((j) => j.id), [later.id], 'due scheduled jobs of the type too');
      assert.deepEqual((await claim(ctx.store, 'default', 10, T0 + 1000)).map((j) => j.id), [resize.id], 'null takes any type');
    });

    it('never hands one job to two concurrent claimers', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 200) });
      const claimers: Store[] = [ctx.store];
      for (let i = 0; i < 2; i++) {
        const p = await peer(ctx);
        if (p) claimers.push(p);
      }
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => claim(claimers[i % claimers.length]!, 'default', 13, T0, randomUUID(), i % 2 ? ['test'] : null)));
      const ids = results.flat().map((j) => j.id);
      assert.equal(new Set(ids).size, ids.length, 'no job handed out twice by the concurrent claims');
      // A claim may lock a few rows more than it takes (Postgres reads and locks its statement's size, 16 for
      // these 13, and SKIP LOCKED makes the others pass them by): at most 3 per claim are left for a later claim.
      assert.ok(ids.length >= 200 - 24 * 3, `the concurrent claims took ${ids.length} of 200`);
      for (let rest = await claim(ctx.store, 'default', 200, T0, randomUUID()); rest.length > 0; rest = await claim(ctx.store, 'default', 200, T0, randomUUID())) {
        ids.push(...rest.map((j) => j.id));
      }
      assert.equal(ids.length, 200, 'every job claimed, by the concurrent claims or the ones after');
      assert.equal(new Set(ids).size, 200);
    });

    it('leaves scheduled jobs until their runAt, then claims them', async () => {
      const later = newRecord(T0, { delayMs: 1000 });
      await ctx.store.jobInsertMany({ jobs: [later] });
      assert.deepEqual(await claim(ctx.store, 'default', 5, T0 + 999), []);
      assert.equal(await ctx.store.jobNextRunAt('default'), T0 + 1000);
      const [job] = await claim(ctx.store, 'default', 5, T0 + 1000);
      assert.equal(job?.id, later.id);
      assert.equal(await ctx.store.jobNextRunAt('default'), null);
    });

    it('a claim that comes back short says when the next scheduled job falls due: after now, any type', async () => {
      const ready = newRecord(T0, { type: 'email' });
      const emailLater = newRecord(T0, { type: 'email', delayMs: 9000 });
      const smsSooner = newRecord(T0, { type: 'sms', delayMs: 5000 });
      const resizeDue = newRecord(T0, { type: 'resize', delayMs: 1000 });
      const otherQueue = newRecord(T0, { queue: 'other', delayMs: 2000 });
      await ctx.store.jobInsertMany({ jobs: [ready, emailLater, smsSooner, resizeDue, otherQueue] });
      const short = await ctx.store.jobClaim({ queue: 'default', types: ['email'], limit: 5, now: T0 + 1000, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.deepEqual(short.map((j) => j.id), [ready.id]);
      // The resize job fell due at T0 + 1000 and nobody here claims its type: it is not what to wake for.
      assert.equal(short.nextRunAt, T0 + 5000, 'the sms job, of a type not asked for; not the due resize job');
      const empty = await ctx.store.jobClaim({ queue: 'default', types: ['email'], limit: 5, now: T0 + 5000, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.deepEqual([empty.length, empty.nextRunAt], [0, T0 + 9000], 'an empty claim says it too, its own now excluded');
      await claim(ctx.store, 'default', 10, T0 + 9000);
      const none = await ctx.store.jobClaim({ queue: 'default', types: null, limit: 5, now: T0 + 9000, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.deepEqual([none.length, none.nextRunAt], [0, null], 'nothing scheduled in the queue (another queue\'s job does not count)');
      await ctx.store.jobInsertMany({ jobs: newRecords(T0 + 9000, 3) });
      const full = await ctx.store.jobClaim({ queue: 'default', types: null, limit: 3, now: T0 + 9000, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.equal(full.length, 3);
      assert.equal(full.nextRunAt, undefined, 'a full claim says nothing (its loop claims again anyway)');
    });

    it('claims nothing from a paused queue until it is resumed', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      await ctx.store.queueSetPaused({ name: 'default', paused: true, maxQueues: MAX_QUEUES, now: T0 });
      assert.deepEqual(await claim(ctx.store), []);
      assert.equal((await ctx.store.queueList({ limit: 10 }))[0]?.paused, true);
      await ctx.store.queueSetPaused({ name: 'default', paused: false, maxQueues: MAX_QUEUES, now: T0 });
      assert.equal((await claim(ctx.store)).length, 3);
    });

    it('gives back, unspent, whatever a claim took when asked with its token (a lost claim reply)', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      const token = randomUUID();
      await claim(ctx.store, 'default', 2, T0, token);
      const other = await claim(ctx.store, 'default', 1, T0);
      const released = await ctx.store.jobReleaseClaim({ leaseToken: token, now: T0 + 5 });
      assert.equal(released.length, 2);
      for (const r of released) {
        const job = await ctx.store.jobGet(r.id);
        assert.equal(job?.status, 'pending');
        assert.equal(job?.attempts, 0);
      }
      assert.equal((await ctx.store.jobGet(other[0]!.id))?.status, 'processing', "another claim's job is untouched");
      assert.deepEqual(await ctx.store.jobReleaseClaim({ leaseToken: token, now: T0 + 6 }), []);
    });
  });

  describe('user operations', () => {
    it('allow exactly the moves OPERATIONS lists, from every status (the table in contracts/job.ts)', async () => {
      for (const op of Object.keys(OPERATIONS) as (keyof typeof OPERATIONS)[]) {
        for (const from of JOB_STATUSES) {
          const id = await jobIn(ctx.store, from);
          const p = { id, from: OPERATIONS[op].from, now: T0 + 50 };
          const r = op === 'cancel' ? await ctx.store.jobCancel(p) : await ctx.store.jobRetry(p);
          const allowed = (OPERATIONS[op].from as readonly JobStatus[]).includes(from);
          assert.equal(r.job !== null, allowed, `${op} from ${from}`);
          if (r.job) assert.equal(r.job.status, OPERATIONS[op].to, `${op} from ${from} lands in ${OPERATIONS[op].to}`);
          else assert.equal(r.current, from, `a refused ${op} reports the status it found and changes nothing`);
          assert.equal((await ctx.store.jobGet(id))?.status, allowed ? OPERATIONS[op].to : from);
        }
      }
      const none = await ctx.store.jobCancel({ id: randomUUID(), from: OPERATIONS.cancel.from, now: T0 });
      assert.deepEqual(none, { job: null, current: null }, 'an unknown id');
    });

    it('cancel finishes the job and voids its lease; retry gives a fresh attempt budget and keeps the errors', async () => {
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0, { maxAttempts: 1 })] });
      const [running] = await claim(ctx.store);
      const r = await ctx.store.jobCancel({ id: running!.id, from: OPERATIONS.cancel.from, now: T0 + 5 });
      assert.equal(r.job?.finishedAt, T0 + 5);
      assert.equal(await finish(ctx.store, running!, completed()), false, 'a cancelled worker cannot finish');
      await ctx.store.jobRetry({ id: running!.id, from: OPERATIONS.retry.from, now: T0 + 6 });
      const [again] = await claim(ctx.store, 'default', 1, T0 + 6);
      await finish(ctx.store, again!, failed(1, 'bad'));
      const retried = await ctx.store.jobRetry({ id: running!.id, from: OPERATIONS.retry.from, now: T0 + 100 });
      assert.equal(retried.job?.status, 'pending');
      assert.equal(retried.job?.attempts, 0);
      assert.equal(retried.job?.finishedAt, null);
      assert.equal(retried.job?.runAt, T0 + 100);
      assert.deepEqual(retried.job?.errors.map((e) => e.message), ['bad']);
    });
  });

  describe('prune', () => {
    it('deletes jobs of one status and queue finished before the time, up to the limit, and nothing else', async () => {
      const recs = newRecords(T0, 6);
      await ctx.store.jobInsertMany({ jobs: [...recs, newRecord(T0, { queue: 'other' })] });
      const claimed = await claim(ctx.store, 'default', 5);
      await finish(ctx.store, claimed[0]!, completed(), T0 + 1);
      await finish(ctx.store, claimed[1]!, completed(), T0 + 2);
      await finish(ctx.store, claimed[2]!, completed(), T0 + 3);
      await finish(ctx.store, claimed[3]!, failed(), T0 + 1);
      const [o] = await claim(ctx.store, 'other', 1);
      await finish(ctx.store, o!, completed(), T0 + 1);
      await ctx.store.jobCancel({ id: recs[5]!.id, from: ['pending'], now: T0 + 1 });
      const prune = (status: 'completed' | 'failed' | 'cancelled', limit: number) => ctx.store.jobPrune({ status, queue: 'default', finishedBefore: T0 + 3, limit });
      assert.equal(await prune('completed', 1), 1);
      assert.equal(await prune('completed', 100), 1);
      assert.equal(await prune('completed', 100), 0, 'the one finished at the cutoff stays');
      assert.equal(await prune('failed', 100), 1);
      assert.equal(await prune('cancelled', 100), 1);
      const left = (await ctx.store.jobList({ limit: 100, include: { payload: false, result: false }, maxBytes: 1e9 })).jobs.map((j) => `${j.queue}:${j.status}`).sort();
      assert.deepEqual(left, ['default:completed', 'default:processing', 'other:completed']);
    });
  });

  describe('close', () => {
    it('is idempotent (the suite closes it once more after), and a closed store answers store_unavailable', async () => {
      await Promise.all([ctx.store.close(), ctx.store.close()]);
      await ctx.store.close();
      await assert.rejects(ctx.store.jobGet(randomUUID()), (e: unknown) => (e as { code?: string }).code === 'store_unavailable');
    });
  });
}

