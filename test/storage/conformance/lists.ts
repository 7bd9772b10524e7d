/** Conformance: listings, each filter in its own order, paged by cursor, bounded in bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError } from '../../../src/contracts/errors.js';
import type { JobStatus } from '../../../src/contracts/job.js';
import type { JobListParams, ListedJob } from '../../../src/contracts/store.js';
import { residualFilter } from '../../../src/storage/list-order.js';
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
      // A residual filter's page may be short, even empty, once it looked at maxScan jobs.
      if (residualFilter(p) === null) assert.ok(page.jobs.length > 0, 'a page with a cursor is never empty');
      cursor = page.nextCursor;
    }
    throw new Error('too many pages');
  }

  describe('listings', () => {
    it('lists everything in the order the jobs were made (by id) and a queue in the order it received them, a page at a time', async () => {
      const a = newRecords(T0, 25, { queue: 'a' });
      const b = newRecords(T0, 5, { queue: 'b' });
      // Received out of the order they were made in (as from two producers): a's last 15 after b.
      await ctx.store.jobInsertMany({ jobs: [...a.slice(0, 10), ...b] });
      await ctx.store.jobInsertMany({ jobs: a.slice(10) });
      const [running] = await claim(ctx.store, 'a', 1, T0 + 1);
      assert.equal(running!.id, a[0]!.id);
      assert.deepEqual((await all({ queue: 'a', limit: 10 })).map((j) => j.id), a.map((r) => r.id));
      assert.deepEqual((await all({ queue: 'b', limit: 2 })).map((j) => j.id), b.map((r) => r.id));
      const everything = await all({ limit: 7 });
      assert.deepEqual(everything.map((j) => j.id), [...a, ...b].map((r) => r.id));
      assert.equal(everything[0]!.status, 'processing', 'a running job is listed in its place');
      assert.deepEqual(everything.map((j) => j.id), everything.map((j) => j.id).sort(), 'ids ascending');
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

    describe('residual filters (type, key, creation time) under a scan budget', () => {
      /** Pages of a listing: how many jobs each holds and whether it hands out a cursor. */
      async function shape(p: Omit<JobListParams, 'cursor' | 'include' | 'maxBytes'>): Promise<string[]> {
        const out: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await ctx.store.jobList({ include: LIGHT, maxBytes: 1e9, ...p, ...(cursor !== undefined && { cursor }) });
          out.push(`${page.jobs.map((j) => j.type).join('')}${page.nextCursor === null ? '' : '+'}`);
          if (page.nextCursor === null) return out;
          cursor = page.nextCursor;
        }
        throw new Error('too many pages');
      }

      it('pages the same way everywhere: a full page goes on after its last job, a spent budget after the last job looked at, the end gives no cursor', async () => {
        // One queue in the order it received them; the type spells the walk: x x y y y y x
        await ctx.store.jobInsertMany({ jobs: [...'xxyyyyx'].map((type, i) => newRecord(T0 + i, { type })) });
        // A full page looks on for one more match: found → a cursor.
        assert.deepEqual(await shape({ type: 'x', limit: 2 }), ['xx+', 'x']);
        // None left to the end → no cursor, and no empty page after it.
        assert.deepEqual(await shape({ type: 'x', limit: 3 }), ['xxx']);
        assert.deepEqual(await shape({ type: 'y', limit: 4 }), ['yyyy']);
        // Three jobs looked at per page; a cursor whenever the walk has not reached the end.
        assert.deepEqual(await shape({ type: 'x', limit: 10, maxScan: 3 }), ['xx+', '+', 'x']);
        assert.deepEqual(await shape({ type: 'y', limit: 10, maxScan: 3 }), ['y+', 'yyy+', '']);
        assert.deepEqual(await shape({ type: 'x', limit: 10, maxScan: 7 }), ['xxx']);
        assert.deepEqual(await shape({ type: 'nope', limit: 10, maxScan: 3 }), ['+', '+', '']);
        assert.deepEqual(await shape({ type: 'nope', limit: 10 }), ['']);
        // A full page with the budget spent while looking for one more: the next page does not look at the yyyy again.
        assert.deepEqual(await shape({ type: 'x', limit: 2, maxScan: 4 }), ['xx+', 'x']);
        assert.deepEqual(await shape({ type: 'y', limit: 1, maxScan: 1 }), ['+', '+', 'y+', 'y+', 'y+', 'y+', '']);
      });

      it('starts the page after a full one right after its last job, so it looks again at what that page passed over', async () => {
        await ctx.store.jobInsertMany({ jobs: [...'xxyyyxyyyx'].map((type) => newRecord(T0, { type })) });
        // The first page finds a third x at the sixth job; the second looks at yyyxyy (six) and stops before the last y.
        assert.deepEqual(await shape({ type: 'x', limit: 2, maxScan: 6 }), ['xx+', 'x+', 'x']);
      });

      it('each filter, alone and combined with queue and status, lists exactly the matching jobs in order, whatever the page size and budget', async () => {
        // Jobs created a second apart (one insert each: a batch shares its creation time) in two queues,
        // two types, some keyed; then some run and finish.
        for (let i = 0; i < 30; i++) {
          await ctx.store.jobInsertMany({ jobs: [newRecord(T0 + i * 1000, { queue: i % 3 === 0 ? 'b' : 'a', type: i % 2 === 0 ? 'x' : 'y', ...(i % 4 === 0 && { key: `k${i}` }) })] });
        }
        const running = await claim(ctx.store, 'a', 8, T0 + 40_000);
        for (const [i, job] of running.slice(0, 5).entries()) await finish(ctx.store, job, completed(), T0 + 50_000 - i);
        const filters: Pick<JobListParams, 'type' | 'key' | 'createdAfter' | 'createdBefore'>[] = [
          { type: 'x' },
          { type: 'y' },
          { key: 'k8' },
          { key: 'k4' },
          { key: 'nobody' },
          { createdAfter: T0 + 7000 },
          { createdBefore: T0 + 7000 },
          { createdAfter: T0 + 5000, createdBefore: T0 + 21_000 },
          { type: 'x', createdAfter: T0 + 10_000 },
          { type: 'y', key: 'k4' },
          { type: 'x', key: 'k4', createdBefore: T0 + 4001 },
        ];
        let checked = 0;
        for (const base of [{}, { queue: 'a' }, { status: 'pending' as const }, { queue: 'a', status: 'pending' as const }, { status: 'completed' as const }, { queue: 'a', status: 'processing' as const }]) {
          const everything = await all({ ...base, limit: 100 });
          for (const f of filters) {
            const want = everything.filter(residualFilter(f)!).map((j) => j.id);
            // The data must make each filter choose (a key names one job, or none).
            if (Object.keys(base).length === 0 && f.key === undefined) assert.ok(want.length > 0 && want.length < everything.length, `${JSON.stringify(f)} splits the jobs`);
            for (const paging of [{ limit: 100 }, { limit: 2 }, { limit: 3, maxScan: 4 }, { limit: 1, maxScan: 1 }]) {
              const got = (await all({ ...base, ...f, ...paging })).map((j) => j.id);
              assert.deepEqual(got, want, JSON.stringify({ ...base, ...f, ...paging }));
              assert.equal(new Set(got).size, got.length);
              checked += want.length;
            }
          }
        }
        assert.ok(checked > 100, `only ${checked} jobs matched: the filters test little`);
      });

      it('finds rare matches down a long walk, across the ranges of a cursor', async () => {
        // Pending lists by queue, type, priority, run time: a page that starts mid-listing walks several index ranges.
        // Fifteen batches of 100, a second apart.
        for (let b = 0; b < 15; b++) {
          const batch = Array.from({ length: 100 }, (_, k) => {
            const i = b * 100 + k;
            return newRecord(T0 + b * 1000, { queue: i % 2 === 0 ? 'a' : 'b', type: i % 3 === 0 ? 't' : 'u', priority: i % 5, ...(i % 211 === 0 && { key: `rare-${i}` }) });
          });
          await ctx.store.jobInsertMany({ jobs: batch });
        }
        const everything = await all({ status: 'pending', limit: 500 });
        assert.equal(everything.length, 1500);
        for (const f of [{ createdAfter: T0 + 14_000 }, { type: 't', createdBefore: T0 + 1000 }, { createdAfter: T0 + 7000, createdBefore: T0 + 7001 }]) {
          const want = everything.filter(residualFilter(f)!).map((j) => j.id);
          assert.ok(want.length > 0 && want.length <= 100, JSON.stringify(f));
          for (const paging of [{ limit: 2 }, { limit: 7, maxScan: 600 }, { limit: 1, maxScan: 250 }]) {
            assert.deepEqual((await all({ status: 'pending', ...f, ...paging })).map((j) => j.id), want, JSON.stringify({ ...f, ...paging }));
          }
        }
        const keyed = await all({ status: 'pending', key: 'rare-1266', limit: 50 });
        assert.deepEqual(keyed.map((j) => j.key), ['rare-1266']);
      });

      it('a filtered page also ends at the byte budget of what it includes', async () => {
        const big = 'x'.repeat(10_000);
        await ctx.store.jobInsertMany({ jobs: Array.from({ length: 18 }, (_, i) => newRecord(T0 + i, i % 2 === 0 ? { type: 'big', payload: big } : { type: 'small' })) });
        const page = await ctx.store.jobList({ type: 'big', limit: 100, include: { payload: true, result: false }, maxBytes: 25_000 });
        assert.deepEqual(page.jobs.map((j) => j.payload), [big, big, big]);
        assert.ok(page.nextCursor);
        const every = await all({ type: 'big', limit: 100, include: { payload: true, result: false }, maxBytes: 25_000 });
        assert.equal(every.length, 9);
        assert.ok(every.every((j) => j.type === 'big' && j.payload === big));
      });
    });

    it('refuses a cursor it did not issue, or one issued for another filter', async () => {
      await ctx.store.jobInsertMany({ jobs: newRecords(T0, 3) });
      const page = await ctx.store.jobList({ limit: 1, include: LIGHT, maxBytes: 1e9 });
      const bad = (cursor: string, p: Partial<JobListParams> = {}) =>
        assert.rejects(ctx.store.jobList({ limit: 1, include: LIGHT, maxBytes: 1e9, cursor, ...p }), (e) => isJobqError(e, 'invalid_request'));
      await bad('not-a-cursor');
      await bad(Buffer.from('["all","x"]').toString('base64url'));
      // What a listing of everything issued before it went by id (a seq), and an id not as jobq writes them.
      await bad(Buffer.from('["all",12]').toString('base64url'));
      await bad(Buffer.from(JSON.stringify(['all', page.jobs[0]!.id.toUpperCase()])).toString('base64url'));
      await bad(page.nextCursor!, { status: 'pending' });
    });
  });
}
