/** Conformance: listings, each filter in its own order, paged by cursor, bounded in bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError } from '../../../src/contracts/errors.js';
import type { JobStatus } from '../../../src/contracts/job.js';
import type { JobListParams, ListedJob } from '../../../src/contracts/store.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';
import { claim, completed, failed, finish, T0, type Ctx } from './ctx.js';

const LIGHT = { payload: false, result: false };

export function listSection(ctx: Ctx): void {
  /** Every page of a listing, following cursors; also checks page sizes. */
  async function all(p: Omit<JobListParams, 'cursor' | 'include' | 'maxBytes'> & Partial<JobListParams>): Promise<ListedJob[]> {
    const out: ListedJob[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await ctx.store.jobList({ include: LIGHT, maxBytes: 1e9, ...p, ...(cursor !== undefined && { cursor }) });
      assert.ok(page.jobs.length <= p.limit);
      out.push(...page.jobs);
      if (page.nextCursor === null) return out;
      assert.ok(page.jobs.length > 0, 'a page with a cursor is never empty');
      cursor = page.nextCursor;
    }
    throw new Error('too many pages');
  }

  describe('listings', () => {
    it('lists everything and a queue in creation order, a page at a time', async () => {
      const a = newRecords(T0, 25, { queue: 'a' });
      const b = newRecords(T0, 5, { queue: 'b' });
      await ctx.store.jobInsertMany({ jobs: [...a.slice(0, 10), ...b, ...a.slice(10)] });
      assert.deepEqual((await all({ queue: 'a', limit: 10 })).map((j) => j.id), a.map((r) => r.id));
      assert.deepEqual((await all({ limit: 7 })).map((j) => j.id), [...a.slice(0, 10), ...b, ...a.slice(10)].map((r) => r.id));
    });

    it('lists each status in the order it is worked in, with and without a queue', async () => {
      const recs = [
        newRecord(T0, { queue: 'b', type: 'y', priority: 1 }),
        newRecord(T0, { queue: 'a', type: 'y', priority: 0 }),
        newRecord(T0, { queue: 'a', type: 'x', priority: 0 }),
        newRecord(T0, { queue: 'a', type: 'x', priority: 5 }),
        newRecord(T0, { queue: 'a', delayMs: 300 }),
        newRecord(T0, { queue: 'b', delayMs: 100 }),
        newRecord(T0, { queue: 'a', delayMs: 200 }),
      ];
      await ctx.store.jobInsertMany({ jobs: recs });
      const ids = (js: ListedJob[]) => js.map((j) => j.id);
      // pending: queue, type, priority (higher first), run time, insertion
      assert.deepEqual(ids(await all({ status: 'pending', limit: 2 })), [recs[3]!.id, recs[2]!.id, recs[1]!.id, recs[0]!.id]);
      assert.deepEqual(ids(await all({ status: 'pending', queue: 'a', limit: 1 })), [recs[3]!.id, recs[2]!.id, recs[1]!.id]);
      // scheduled: queue, run time
      assert.deepEqual(ids(await all({ status: 'scheduled', limit: 1 })), [recs[6]!.id, recs[4]!.id, recs[5]!.id]);
      assert.deepEqual(ids(await all({ status: 'scheduled', queue: 'b', limit: 5 })), [recs[5]!.id]);
      // processing: lease expiry
      const [p1] = await claim(ctx.store, 'a', 1, T0 + 10);
      const [p2] = await claim(ctx.store, 'b', 1, T0 + 5);
      assert.deepEqual(ids(await all({ status: 'processing', limit: 1 })), [p2!.id, p1!.id]);
      assert.deepEqual(ids(await all({ status: 'processing', queue: 'a', limit: 1 })), [p1!.id]);
      // finished: queue, finish time
      await finish(ctx.store, p1!, completed(), T0 + 30);
      await finish(ctx.store, p2!, completed(), T0 + 20);
      const [p3] = await claim(ctx.store, 'a', 1, T0 + 40);
      await finish(ctx.store, p3!, completed(), T0 + 25);
      assert.deepEqual(ids(await all({ status: 'completed', limit: 1 })), [p3!.id, p1!.id, p2!.id]);
      assert.deepEqual(ids(await all({ status: 'completed', queue: 'b', limit: 1 })), [p2!.id]);
      const [p4] = await claim(ctx.store, 'a', 1, T0 + 50);
      await finish(ctx.store, p4!, failed(), T0 + 60);
      assert.deepEqual(ids(await all({ status: 'failed', limit: 1 })), [p4!.id]);
      await ctx.store.jobCancel({ id: recs[4]!.id, from: ['scheduled'], now: T0 + 70 });
      assert.deepEqual(ids(await all({ status: 'cancelled', queue: 'a', limit: 1 })), [recs[4]!.id]);
      // Every status listing holds exactly the jobs of that status.
      for (const status of ['pending', 'scheduled', 'processing', 'completed', 'failed', 'cancelled'] as JobStatus[]) {
        const listed = await all({ status, limit: 3 });
        assert.ok(listed.every((j) => j.status === status));
        const everything = (await all({ limit: 100 })).filter((j) => j.status === status);
        assert.deepEqual(listed.map((j) => j.id).sort(), everything.map((j) => j.id).sort(), status);
      }
    });

    it('leaves payload and result out unless asked', async () => {
      await ctx.store.jobInsertMany({ jobs: [newRecord(T0, { payload: { big: 'x' } })] });
      const [job] = await claim(ctx.store);
      await finish(ctx.store, job!, completed('{"r":1}'));
      const [light] = (await ctx.store.jobList({ limit: 1, include: LIGHT, maxBytes: 1e9 })).jobs;
      assert.equal('payload' in light!, false);
      assert.equal('result' in light!, false);
      const [full] = (await ctx.store.jobList({ limit: 1, include: { payload: true, result: true }, maxBytes: 1e9 })).jobs;
      assert.deepEqual(full!.payload, { big: 'x' });
      assert.deepEqual(full!.result, { r: 1 });
    });

    it('ends a page early once the included payloads reach the byte budget, never empty', async () => {
      const big = 'x'.repeat(10_000);
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 9, { payload: big }) });
      const page = await ctx.store.jobList({ limit: 100, include: { payload: true, result: false }, maxBytes: 25_000 });
      assert.equal(page.jobs.length, 3);
      assert.ok(page.nextCursor);
      const one = await ctx.store.jobList({ limit: 100, include: { payload: true, result: false }, maxBytes: 10 });
      assert.equal(one.jobs.length, 1, 'at least one job, however small the budget');
      const every = await all({ limit: 100, include: { payload: true, result: false }, maxBytes: 25_000 });
      assert.equal(every.length, 9);
      assert.equal(new Set(every.map((j) => j.id)).size, 9);
    });

    it('refuses a cursor it did not issue, or one issued for another filter', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      const page = await ctx.store.jobList({ limit: 1, include: LIGHT, maxBytes: 1e9 });
      const bad = (cursor: string, p: Partial<JobListParams> = {}) =>
        assert.rejects(ctx.store.jobList({ limit: 1, include: LIGHT, maxBytes: 1e9, cursor, ...p }), (e) => isJobqError(e, 'invalid_request'));
      await bad('not-a-cursor');
      await bad(Buffer.from('["all","x"]').toString('base64url'));
      await bad(page.nextCursor!, { status: 'pending' });
    });
  });
}
