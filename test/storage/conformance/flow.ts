/** Conformance: flow control (queue and per-key concurrency, rate windows, holds from throttled jobs, keys served fairly). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LeasedJob } from '../../../src/contracts/job.js';
import { NO_LIMITS, type ClaimedJobs, type QueueSettings, type Store } from '../../../src/contracts/store.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';
import { claim, completed, finish, LEASE, MAX_QUEUES, peer, T0, type Ctx } from './ctx.js';

function limited(store: Store, limit = 10, now = T0, queue = 'default'): Promise<ClaimedJobs> {
  return store.jobClaim({ queue, types: null, limit, now, leaseMs: LEASE, leaseToken: randomUUID() });
}

const keysOf = (jobs: readonly LeasedJob[]) => jobs.map((j) => j.concurrencyKey);
const sorted = <T>(xs: T[]) => [...xs].sort();

export function flowSection(ctx: Ctx): void {
  const configure = (settings: Partial<QueueSettings>, name = 'default') =>
    ctx.store.queueConfigure({ name, settings: { ...NO_LIMITS, ...settings }, maxQueues: MAX_QUEUES, now: T0 });

  describe('flow control', () => {
    it('stores settings per queue, registering it, and reads them back (null for an unknown queue)', async () => {
      assert.equal(await ctx.store.queueSettings('nope'), null);
      const s: QueueSettings = { concurrency: 3, perKeyConcurrency: 1, rateLimit: { max: 10, intervalMs: 1000 }, perKeyRateLimit: { max: 2, intervalMs: 500 } };
      await configure(s, 'q');
      assert.deepEqual(await ctx.store.queueSettings('q'), s);
      assert.deepEqual((await ctx.store.queueList({ limit: 10 })).map((q) => [q.name, q.settings]), [['q', s]]);
      await configure({}, 'q');
      assert.deepEqual(await ctx.store.queueSettings('q'), NO_LIMITS);
    });

    it('caps a queue\'s keyless jobs that came in one large batch (bulk enqueue\'s size) like any others', async () => {
      await configure({ concurrency: 2 });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 999), newRecord(T0, { concurrencyKey: 'k' })] });
      const first = await limited(ctx.store, 10);
      assert.equal(first.length, 2);
      assert.equal(first.limited, true);
      assert.equal((await limited(ctx.store)).length, 0);
    });

    it('caps the jobs of a queue processing at once, and frees a slot when one ends', async () => {
      await configure({ concurrency: 2 });
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 5) });
      const first = await limited(ctx.store);
      assert.equal(first.length, 2);
      assert.equal(first.limited, true, 'a short claim says a limit held it');
      assert.equal(first.wakeAt, undefined, 'only a slot freeing lets more start: no time to wake at');
      assert.equal((await limited(ctx.store)).length, 0);
      await finish(ctx.store, first[0]!, completed());
      assert.equal((await limited(ctx.store)).length, 1);
      assert.equal((await limited(ctx.store)).length, 0);
    });

    it('caps each concurrency key, leaves keyless jobs unlimited by it, and serves keys in turn', async () => {
      await configure({ perKeyConcurrency: 1 });
      await ctx.store.jobInsertMany({
        jobs: [...newRecords(T0, 3, { concurrencyKey: 'a' }), ...newRecords(T0, 2, { concurrencyKey: 'b' }), ...newRecords(T0, 2)],
      });
      const first = await limited(ctx.store);
      assert.deepEqual(sorted(keysOf(first).map(String)), ['a', 'b', 'null', 'null']);
      assert.equal(first.limited, true);
      assert.equal((await limited(ctx.store)).length, 0, 'every key is at its limit');
      const a = first.find((j) => j.concurrencyKey === 'a')!;
      await finish(ctx.store, a, completed());
      assert.deepEqual(keysOf(await limited(ctx.store)), ['a']);
    });

    it('takes keys round robin across claims, one job per key per round, so a big backlog cannot starve a small key', async () => {
      await configure({ perKeyConcurrency: 100 });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 50, { concurrencyKey: 'big' }), ...newRecords(T0, 2, { concurrencyKey: 'c' }), ...newRecords(T0, 2, { concurrencyKey: 'd' })] });
      const order: (string | null)[] = [];
      for (let i = 0; i < 7; i++) order.push(...keysOf(await limited(ctx.store, 1)));
      assert.deepEqual(order, ['big', 'c', 'd', 'big', 'c', 'd', 'big']);
      const wide = await limited(ctx.store, 4);
      assert.deepEqual(keysOf(wide), ['big', 'big', 'big', 'big'], 'the other keys are empty: the rest goes to the one left');
    });

    it('gives a key that arrives behind a busy key the slots beyond one per idle key, until its use catches up', async () => {
      await configure({ concurrency: 1000 });
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 20, { concurrencyKey: 'a' }) });
      const busy = await limited(ctx.store, 4);
      assert.deepEqual(keysOf(busy), ['a', 'a', 'a', 'a']);
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 20, { concurrencyKey: 'b' }) });
      // a's four jobs ran for a second; b has used nothing. Both are idle at the next claim.
      for (const j of busy) await finish(ctx.store, j, completed(), T0 + 1000);
      const next = await limited(ctx.store, 5, T0 + 1000);
      assert.deepEqual(sorted(keysOf(next).map(String)), ['a', 'b', 'b', 'b', 'b'], 'one for the idle busy key, the rest for the newcomer (in turn would give b three)');
      // Two seconds later b, with four running, has used more than a (whose use halved twice): a comes first.
      for (const j of next) await finish(ctx.store, j, completed(), T0 + 3000);
      const after = await limited(ctx.store, 5, T0 + 3000);
      assert.deepEqual(sorted(keysOf(after).map(String)), ['a', 'a', 'a', 'a', 'b']);
    });

    it('keyless jobs form one group taking its turn with the keys, including jobs enqueued before the limits were set', async () => {
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 3), ...newRecords(T0, 3, { concurrencyKey: 'a' })] });
      await configure({ perKeyConcurrency: 10 });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 3, { concurrencyKey: 'b' }), newRecord(T0)] });
      const order: (string | null)[] = [];
      for (let i = 0; i < 6; i++) order.push(...keysOf(await limited(ctx.store, 1)));
      assert.deepEqual(order, [null, 'a', 'b', null, 'a', 'b']);
      const rest = await limited(ctx.store, 10);
      assert.deepEqual(sorted(keysOf(rest).map(String)), ['a', 'b', 'null', 'null']);
      for (const j of [...rest]) assert.equal((await ctx.store.jobGet(j.id))?.concurrencyKey ?? null, j.concurrencyKey, 'a keyless job reads back keyless');
    });

    it('a keyless job retried by hand into a queue now under limits is claimed (found by the simulator)', async () => {
      const rec = newRecord(T0, { maxAttempts: 1 });
      await ctx.store.jobInsertMany({ jobs: [rec] });
      const [j] = await claim(ctx.store);
      await finish(ctx.store, j!, { kind: 'failed', error: { attempt: 1, message: 'x', at: T0 } });
      await configure({ concurrency: 5 });
      assert.ok((await ctx.store.jobRetry({ id: rec.id, from: ['failed', 'cancelled'], now: T0 + 1 })).job);
      assert.deepEqual((await limited(ctx.store, 10, T0 + 1)).map((x) => x.id), [rec.id]);
      assert.equal((await ctx.store.jobGet(rec.id))?.concurrencyKey, null, 'still keyless to the reader');
    });

    it('a job of a free rate key is not held behind jobs of its group whose rate key is spent (found by the simulator)', async () => {
      await configure({ perKeyRateLimit: { max: 1, intervalMs: 1000 } });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 3, { rateKey: 'b' }), newRecord(T0, { rateKey: 'other' })] });
      assert.deepEqual((await limited(ctx.store, 1)).map((j) => j.rateKey), ['b']);
      const second = await limited(ctx.store, 1, T0 + 1);
      assert.deepEqual(second.map((j) => j.rateKey), ['other'], 'the claim looks past the held b jobs');
      assert.equal(second.limited, true);
      const third = await limited(ctx.store, 1, T0 + 2);
      assert.deepEqual([third.length, third.wakeAt], [0, T0 + 1000]);
    });

    it('orders by priority within a key', async () => {
      await configure({ perKeyConcurrency: 1 });
      const low = newRecord(T0, { concurrencyKey: 'k', priority: 0 });
      const high = newRecord(T0, { concurrencyKey: 'k', priority: 9 });
      await ctx.store.jobInsertMany({ jobs: [low, high] });
      assert.deepEqual((await limited(ctx.store)).map((j) => j.id), [high.id]);
    });

    it('claims only the wanted types under limits too', async () => {
      await configure({ perKeyConcurrency: 5 });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 2, { concurrencyKey: 'k', type: 'x' }), ...newRecords(T0, 2, { concurrencyKey: 'k', type: 'y' }), newRecord(T0, { type: 'y' })] });
      const got = await ctx.store.jobClaim({ queue: 'default', types: ['x'], limit: 10, now: T0, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.deepEqual(got.map((j) => j.type), ['x', 'x']);
      // Several wanted types (a store may take another path for one): only those, keyed or not.
      const more = await ctx.store.jobClaim({ queue: 'default', types: ['y', 'z'], limit: 10, now: T0, leaseMs: LEASE, leaseToken: randomUUID() });
      assert.deepEqual(more.map((j) => j.type), ['y', 'y', 'y']);
    });

    it('starts at most `max` jobs in any window of intervalMs (a strict sliding window), and says when the next may start', async () => {
      await configure({ rateLimit: { max: 3, intervalMs: 1000 } });
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 10) });
      const starts: number[] = [];
      const take = async (now: number) => {
        const got = await limited(ctx.store, 10, now);
        for (const j of got) {
          starts.push(now);
          await finish(ctx.store, j, completed(), now);
        }
        return got;
      };
      assert.equal((await take(T0)).length, 3);
      const held = await take(T0 + 500);
      assert.equal(held.length, 0);
      assert.equal(held.limited, true);
      assert.equal(held.wakeAt, T0 + 1000, 'the oldest start leaves the window at T0 + 1000');
      assert.equal((await take(T0 + 999)).length, 0);
      assert.equal((await take(T0 + 1000)).length, 3);
      assert.equal((await take(T0 + 1500)).length, 0);
      assert.equal((await take(T0 + 2000)).length, 3);
      assert.equal((await take(T0 + 3000)).length, 1);
      for (const t of starts) assert.ok(starts.filter((u) => u > t - 1000 && u <= t).length <= 3, `no window ending at ${t - T0} holds more than 3 starts`);
    });

    it('rate-limits each rate key on its own (rateKey defaults to concurrencyKey)', async () => {
      await configure({ perKeyRateLimit: { max: 1, intervalMs: 1000 } });
      await ctx.store.jobInsertMany({
        jobs: [...newRecords(T0, 2, { concurrencyKey: 'a' }), ...newRecords(T0, 2, { concurrencyKey: 'b', rateKey: 'shared' }), ...newRecords(T0, 2, { rateKey: 'shared' })],
      });
      const first = await limited(ctx.store, 10);
      assert.deepEqual(sorted(first.map((j) => j.rateKey!)), ['a', 'shared']);
      assert.equal(first.limited, true);
      const next = await limited(ctx.store, 10, T0 + 10);
      assert.equal(next.length, 0);
      assert.equal(next.wakeAt, T0 + 1000);
      assert.deepEqual(sorted((await limited(ctx.store, 10, T0 + 1000)).map((j) => j.rateKey!)), ['a', 'shared']);
    });

    it('a throttled job goes back in line with its attempt given back and holds its rate key until its runAt', async () => {
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0, { rateKey: 'api' }), newRecord(T0, { rateKey: 'api' }), newRecord(T0, { rateKey: 'other' })] });
      const [job] = await claim(ctx.store, 'default', 1);
      assert.equal(job!.attempts, 1);
      const [ref] = await ctx.store.jobFinishMany({ finishes: [{ id: job!.id, leaseToken: job!.leaseToken, outcome: { kind: 'throttled', status: 'scheduled', runAt: T0 + 5000, holdKey: 'api' } }], now: T0 });
      assert.equal(ref?.attempts, 0, 'the answer carries the attempt count given back');
      const back = await ctx.store.jobGet(job!.id);
      assert.equal(back?.status, 'scheduled');
      assert.equal(back?.attempts, 0, 'a throttle is not a failure: the attempt is given back');
      assert.equal(back?.runAt, T0 + 5000);
      assert.deepEqual(back?.errors, []);
      const during = await limited(ctx.store, 10, T0 + 100);
      assert.deepEqual(during.map((j) => j.rateKey), ['other'], 'a queue with no limits still honours the hold');
      assert.equal(during.wakeAt, T0 + 5000);
      const after = await limited(ctx.store, 10, T0 + 5000);
      assert.deepEqual(sorted(after.map((j) => j.rateKey!)), ['api', 'api']);
    });

    it('a throttle without a key holds the whole queue until its runAt', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      const [job] = await claim(ctx.store, 'default', 1);
      await finish(ctx.store, job!, { kind: 'throttled', status: 'pending', runAt: T0 + 2000, holdKey: null });
      const during = await limited(ctx.store, 10, T0 + 1);
      assert.equal(during.length, 0);
      assert.equal(during.limited, true);
      assert.equal(during.wakeAt, T0 + 2000);
      assert.equal((await limited(ctx.store, 10, T0 + 2000)).length, 3);
    });

    it('a crashed holder keeps its slot until its lease is rescued, then the slot is free', async () => {
      await configure({ concurrency: 1 });
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 2) });
      const [crashed] = await limited(ctx.store);
      assert.equal((await limited(ctx.store, 10, T0 + LEASE - 1)).length, 0, 'the slot is taken while the lease lives');
      const expired = await ctx.store.jobExpiredLeases({ now: T0 + LEASE + 1, limit: 10 });
      assert.deepEqual(expired.map((j) => j.id), [crashed!.id]);
      await ctx.store.jobFinishMany({ finishes: [{ id: crashed!.id, leaseToken: crashed!.leaseToken, outcome: { kind: 'retry', status: 'pending', runAt: T0 + LEASE + 1, error: { attempt: 1, message: 'lease expired', at: T0 + LEASE + 1 } } }], now: T0 + LEASE + 1 });
      assert.equal((await limited(ctx.store, 10, T0 + LEASE + 2)).length, 1);
    });

    it('pausing still wins over limits, and removing the limits returns the queue to plain claims', async () => {
      await configure({ concurrency: 1 });
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      await ctx.store.queueSetPaused({ name: 'default', paused: true, maxQueues: MAX_QUEUES, now: T0 });
      assert.equal((await limited(ctx.store)).length, 0);
      await ctx.store.queueSetPaused({ name: 'default', paused: false, maxQueues: MAX_QUEUES, now: T0 });
      assert.equal((await limited(ctx.store)).length, 1);
      await configure({});
      const rest = await limited(ctx.store);
      assert.equal(rest.length, 2);
      assert.equal(rest.limited, undefined);
    });

    it('handles racing on one shared store never exceed the limits', async () => {
      await configure({ concurrency: 5, perKeyConcurrency: 2 });
      const keys = ['a', 'b', 'c', 'd'];
      await ctx.store.jobInsertMany({ jobs: keys.flatMap((k) => newRecords(T0, 10, { concurrencyKey: k })) });
      const handles: Store[] = [ctx.store];
      for (let i = 0; i < 2; i++) {
        const p = await peer(ctx);
        if (p) handles.push(p);
      }
      const running: LeasedJob[] = [];
      for (let round = 0; round < 6; round++) {
        const got = (await Promise.all(Array.from({ length: 6 }, (_, i) => limited(handles[i % handles.length]!, 3, T0 + round)))).flat();
        running.push(...got);
        assert.ok(running.length <= 5, `round ${round}: ${running.length} running, over the queue's 5`);
        for (const k of keys) assert.ok(running.filter((j) => j.concurrencyKey === k).length <= 2, `round ${round}: key ${k} over 2`);
        // Finish the oldest two to let the next round in.
        for (const j of running.splice(0, 2)) await finish(ctx.store, j, completed(), T0 + round);
      }
    });
  });
}
