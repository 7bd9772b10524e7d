/** Conformance: queues (registry, pause, counts, pages), nodes, leaderships, health. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError } from '../../../src/contracts/errors.js';
import { NO_LIMITS } from '../../../src/contracts/store.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';
import { claim, completed, finish, MAX_QUEUES, T0, type Ctx } from './ctx.js';

export function clusterSection(ctx: Ctx): void {
  describe('queues', () => {
    it('registers queues idempotently, refuses more than maxQueues, and lists them by name a page at a time', async () => {
      await ctx.store.queueRegister({ names: ['c', 'a'], maxQueues: 3, now: T0 });
      await ctx.store.queueRegister({ names: ['a', 'c'], maxQueues: 3, now: T0 });
      await ctx.store.queueSetPaused({ name: 'b', paused: true, maxQueues: 3, now: T0 });
      await assert.rejects(ctx.store.queueRegister({ names: ['d'], maxQueues: 3, now: T0 }), (e) => isJobqError(e, 'capacity_exceeded'));
      await assert.rejects(ctx.store.queueSetPaused({ name: 'e', paused: true, maxQueues: 3, now: T0 }), (e) => isJobqError(e, 'capacity_exceeded'));
      await ctx.store.queueSetPaused({ name: 'a', paused: true, maxQueues: 3, now: T0 });
      assert.deepEqual(await ctx.store.queueNames(), ['a', 'b', 'c']);
      const first = await ctx.store.queueList({ limit: 2 });
      assert.deepEqual(first.map((q) => [q.name, q.paused]), [['a', true], ['b', true]]);
      const rest = await ctx.store.queueList({ limit: 2, after: 'b' });
      assert.deepEqual(rest.map((q) => [q.name, q.paused]), [['c', false]]);
    });

    it('counts jobs per queue and status, and pending jobs per type', async () => {
      await ctx.store.queueRegister({ names: ['a', 'b'], maxQueues: MAX_QUEUES, now: T0 });
      await ctx.store.jobInsertMany({ jobs: [...newRecords(T0, 3, { queue: 'a', type: 'x' }), newRecord(T0, { queue: 'a', type: 'y' }), newRecord(T0, { queue: 'b', delayMs: 60_000 })] });
      const [x] = await claim(ctx.store, 'a', 1, T0, undefined, ['x']);
      await claim(ctx.store, 'a', 1, T0, undefined, ['x']);
      await finish(ctx.store, x!, completed());
      assert.deepEqual(await ctx.store.queueList({ limit: 10 }), [
        { name: 'a', paused: false, counts: { waiting: 0, scheduled: 0, pending: 2, processing: 1, completed: 1, failed: 0, cancelled: 0 }, pendingByType: { x: 1, y: 1 }, settings: NO_LIMITS },
        { name: 'b', paused: false, counts: { waiting: 0, scheduled: 1, pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 }, pendingByType: {}, settings: NO_LIMITS },
      ]);
    });
  });

  describe('nodes and leadership', () => {
    it('keeps a heartbeat per node and lists the live ones', async () => {
      const node = (id: string, at: number) => ({ id, queues: ['default'], types: ['a', 'b'], startedAt: T0, heartbeatAt: at, host: 'h', pid: 1 });
      await ctx.store.nodeHeartbeat(node('n1', T0));
      await ctx.store.nodeHeartbeat(node('n2', T0 + 5000));
      await ctx.store.nodeHeartbeat(node('n1', T0 + 6000));
      assert.deepEqual((await ctx.store.nodeList({ since: T0 + 5500 })).map((n) => n.id), ['n1']);
      const all = await ctx.store.nodeList({ since: 0 });
      assert.deepEqual(all.map((n) => [n.id, n.heartbeatAt]), [['n1', T0 + 6000], ['n2', T0 + 5000]]);
      assert.deepEqual(all[0], node('n1', T0 + 6000));
      await ctx.store.nodeRemove('n2');
      assert.deepEqual((await ctx.store.nodeList({ since: 0 })).map((n) => n.id), ['n1']);
    });

    it('gives a leadership lease to one node at a time; it passes on when released or expired', async () => {
      const p = (nodeId: string, now: number) => ({ name: 'maintenance', nodeId, now, ttlMs: 1000 });
      assert.equal(await ctx.store.leaderTryAcquire(p('n1', T0)), true);
      assert.equal(await ctx.store.leaderTryAcquire(p('n2', T0 + 500)), false);
      assert.equal(await ctx.store.leaderTryAcquire(p('n1', T0 + 900)), true, 'the holder renews');
      assert.equal(await ctx.store.leaderTryAcquire(p('n2', T0 + 1800)), false, 'renewed until 1900');
      assert.equal(await ctx.store.leaderTryAcquire(p('n2', T0 + 1900)), true, 'taken over once expired');
      assert.equal(await ctx.store.leaderTryAcquire({ ...p('n1', T0 + 1900), name: 'other' }), true, 'leaderships are independent');
      await ctx.store.leaderRelease({ name: 'maintenance', nodeId: 'n1' });
      assert.equal(await ctx.store.leaderTryAcquire(p('n1', T0 + 2000)), false, 'releasing what one does not hold changes nothing');
      await ctx.store.leaderRelease({ name: 'maintenance', nodeId: 'n2' });
      assert.equal(await ctx.store.leaderTryAcquire(p('n1', T0 + 2000)), true);
    });
  });

  describe('health', () => {
    it('ping passes on a working store; driver failures surface as store_unavailable', async (t) => {
      await ctx.store.ping();
      if (!ctx.opened.induceOutage) return t.skip('this backend has no database to take away (memory)');
      const undo = await ctx.opened.induceOutage();
      try {
        await assert.rejects(ctx.store.ping(), (e) => isJobqError(e, 'store_unavailable'));
        await assert.rejects(ctx.store.jobInsertMany({ jobs: [newRecord(T0)] }), (e) => isJobqError(e, 'store_unavailable'));
      } finally {
        await undo();
      }
      await ctx.store.ping();
    });
  });
}
