/** Conformance: cron schedules as stored (the core computes their runs). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Schedule } from '../../../src/contracts/store.js';
import { T0, type Ctx } from './ctx.js';

const schedule = (name: string, extra: Partial<Schedule> = {}): Schedule => ({
  name,
  cron: '*/5 * * * *',
  tz: 'Europe/Berlin',
  job: { type: 'report', payload: { n: [1, 'two', null] }, queue: 'cron', priority: 3 },
  catchUp: 'none',
  paused: false,
  nextRunAt: T0 + 300_000,
  lastRunAt: null,
  lastJobId: null,
  createdAt: T0,
  updatedAt: T0,
  ...extra,
});

export function scheduleSection(ctx: Ctx): void {
  describe('schedules', () => {
    it('stores, replaces, lists by name a page at a time, and removes schedules', async () => {
      await ctx.store.scheduleUpsert(schedule('b'));
      await ctx.store.scheduleUpsert(schedule('a', { paused: true, nextRunAt: null }));
      await ctx.store.scheduleUpsert(schedule('c'));
      assert.deepEqual(await ctx.store.scheduleGet('b'), schedule('b'));
      assert.equal(await ctx.store.scheduleGet('zzz'), null);
      await ctx.store.scheduleUpsert(schedule('b', { cron: '0 * * * *', updatedAt: T0 + 1 }));
      assert.equal((await ctx.store.scheduleGet('b'))?.cron, '0 * * * *');
      assert.deepEqual((await ctx.store.scheduleList({ limit: 2 })).map((s) => s.name), ['a', 'b']);
      assert.deepEqual((await ctx.store.scheduleList({ limit: 2, after: 'b' })).map((s) => s.name), ['c']);
      assert.equal(await ctx.store.scheduleRemove('c'), true);
      assert.equal(await ctx.store.scheduleRemove('c'), false);
      assert.deepEqual((await ctx.store.scheduleList({ limit: 10 })).map((s) => s.name), ['a', 'b']);
    });

    it('lists due schedules (not paused) in run order, and advances one only from the run it expected', async () => {
      await ctx.store.scheduleUpsert(schedule('late', { nextRunAt: T0 + 200 }));
      await ctx.store.scheduleUpsert(schedule('early', { nextRunAt: T0 + 100 }));
      await ctx.store.scheduleUpsert(schedule('future', { nextRunAt: T0 + 10_000 }));
      await ctx.store.scheduleUpsert(schedule('off', { paused: true, nextRunAt: null }));
      assert.deepEqual((await ctx.store.scheduleDue({ now: T0 + 500, limit: 10 })).map((s) => s.name), ['early', 'late']);
      const advance = { name: 'early', expectedNextRunAt: T0 + 100, nextRunAt: T0 + 400, lastRunAt: T0 + 100, lastJobId: '01920000-0000-7000-8000-000000000001', now: T0 + 150 };
      assert.equal(await ctx.store.scheduleAdvance(advance), true);
      assert.equal(await ctx.store.scheduleAdvance(advance), false, 'a second node advancing the same run loses');
      const s = await ctx.store.scheduleGet('early');
      assert.deepEqual([s?.nextRunAt, s?.lastRunAt, s?.lastJobId, s?.updatedAt], [T0 + 400, T0 + 100, advance.lastJobId, T0 + 150]);
      assert.equal(await ctx.store.scheduleAdvance({ ...advance, expectedNextRunAt: T0 + 400, nextRunAt: T0 + 700, lastRunAt: null, lastJobId: null }), true);
      assert.deepEqual([(await ctx.store.scheduleGet('early'))?.lastRunAt], [T0 + 100], 'no slot run: the last run stays');
    });
  });
}
