/** Conformance: unique keys (one holder at a time) and dependencies (waiting, then ready or ended by policy). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isJobqError } from '../../../src/contracts/errors.js';
import { OPERATIONS, type DependencyPolicy } from '../../../src/contracts/job.js';
import type { NewJobRecord, Store } from '../../../src/contracts/store.js';
import { newRecord } from '../../helpers/job-factory.js';
import { claim, completed, failed, finish, peer, T0, type Ctx } from './ctx.js';

const keyed = (key: string, input: Parameters<typeof newRecord>[1] = {}, now = T0, extra: Partial<NewJobRecord> = {}): NewJobRecord => ({
  ...newRecord(now, input),
  key,
  ...extra,
});
const after = (deps: string[], policy: DependencyPolicy = 'fail', input: Parameters<typeof newRecord>[1] = {}): NewJobRecord => ({
  ...newRecord(T0, input),
  dependsOn: deps,
  onDependencyFailure: policy,
});

async function statusOf(store: Store, id: string) {
  return (await store.jobGet(id))?.status;
}

export function linkSection(ctx: Ctx): void {
  describe('unique keys', () => {
    it('a held key returns the holder instead of a new job, within one batch and across batches', async () => {
      const a = keyed('k1', { payload: 'first' });
      const b = keyed('k1', { payload: 'second' });
      const r1 = await ctx.store.jobInsertMany({ jobs: [a, b, keyed('k2')] });
      assert.deepEqual(r1.deduplicated.map((d) => [d.index, d.job.id, d.replaced]), [[1, a.id, false]]);
      assert.equal(await ctx.store.jobGet(b.id), null, 'the duplicate was not stored');
      const c = keyed('k1');
      const r2 = await ctx.store.jobInsertMany({ jobs: [c] });
      assert.equal(r2.deduplicated[0]?.job.id, a.id);
      assert.equal(r2.deduplicated[0]?.job.key, 'k1');
      assert.deepEqual((await ctx.store.jobGet(a.id))?.payload, 'first');
    });

    it("'replace' replaces the payload and run time of a holder that has not started, and only then", async () => {
      const a = keyed('debounce', { payload: 1, delayMs: 1000 });
      await ctx.store.jobInsertMany({ jobs: [a] });
      const r = await ctx.store.jobInsertMany({ jobs: [keyed('debounce', { payload: 2, delayMs: 5000 }, T0 + 10, { onConflict: 'replace' })] });
      assert.equal(r.deduplicated[0]?.replaced, true);
      const held = await ctx.store.jobGet(a.id);
      assert.deepEqual([held?.payload, held?.runAt, held?.status], [2, T0 + 5010, 'scheduled']);
      const [running] = await claim(ctx.store, 'default', 1, T0 + 6000);
      assert.equal(running?.id, a.id);
      const late = await ctx.store.jobInsertMany({ jobs: [keyed('debounce', { payload: 3 }, T0 + 6001, { onConflict: 'replace' })] });
      assert.deepEqual([late.deduplicated[0]?.replaced, late.deduplicated[0]?.job.status], [false, 'processing'], 'a running holder is not replaced');
      assert.deepEqual((await ctx.store.jobGet(a.id))?.payload, 2);
    });

    it('a key is free again once its job finished, unless within uniqueForMs of its creation', async () => {
      const a = keyed('once');
      await ctx.store.jobInsertMany({ jobs: [a] });
      const [job] = await claim(ctx.store);
      await finish(ctx.store, job!, completed(), T0 + 5);
      const b = keyed('once', {}, T0 + 10);
      assert.deepEqual((await ctx.store.jobInsertMany({ jobs: [b] })).deduplicated, [], 'reused after completion');
      assert.equal(await statusOf(ctx.store, b.id), 'pending');
      const w = keyed('window', {}, T0, { keyUntil: T0 + 1000 });
      await ctx.store.jobInsertMany({ jobs: [w] });
      await ctx.store.jobCancel({ id: w.id, from: OPERATIONS.cancel.from, now: T0 + 1 });
      assert.equal((await ctx.store.jobInsertMany({ jobs: [keyed('window', {}, T0 + 999)] })).deduplicated[0]?.job.id, w.id, 'still held inside the window');
      const w2 = keyed('window', {}, T0 + 1000);
      assert.deepEqual((await ctx.store.jobInsertMany({ jobs: [w2] })).deduplicated, [], 'free once the window passed');
    });

    it('50 concurrent enqueues of one key from three handles give exactly one job', async (t) => {
      const handles: Store[] = [ctx.store];
      for (let i = 0; i < 2; i++) {
        const p = await peer(ctx);
        if (p) handles.push(p);
      }
      if (handles.length === 1) t.diagnostic('one handle (memory store): concurrency within one process only');
      const records = Array.from({ length: 50 }, () => keyed('race'));
      const results = await Promise.all(records.map((r, i) => handles[i % handles.length]!.jobInsertMany({ jobs: [r] })));
      const inserted = records.filter((_, i) => results[i]!.deduplicated.length === 0);
      assert.equal(inserted.length, 1, 'one insert won');
      const winner = inserted[0]!.id;
      assert.ok(results.every((r) => r.deduplicated.length === 0 || r.deduplicated[0]!.job.id === winner), 'everyone else got the winner');
    });

    it('a manually retried job takes its key back, or is refused when another job holds it now', async () => {
      const a = keyed('again', { maxAttempts: 1 });
      await ctx.store.jobInsertMany({ jobs: [a] });
      const [job] = await claim(ctx.store);
      await finish(ctx.store, job!, failed(), T0 + 1);
      const b = keyed('again', {}, T0 + 2);
      await ctx.store.jobInsertMany({ jobs: [b] });
      assert.equal(await statusOf(ctx.store, b.id), 'pending', 'the failed holder released the key to b');
      await assert.rejects(ctx.store.jobRetry({ id: a.id, from: OPERATIONS.retry.from, now: T0 + 3 }), (e) => isJobqError(e, 'conflict'));
      assert.equal(await statusOf(ctx.store, a.id), 'failed', 'a refused retry changes nothing');
      await ctx.store.jobCancel({ id: b.id, from: OPERATIONS.cancel.from, now: T0 + 4 });
      assert.equal((await ctx.store.jobRetry({ id: a.id, from: OPERATIONS.retry.from, now: T0 + 5 })).job?.status, 'pending');
      assert.equal((await ctx.store.jobInsertMany({ jobs: [keyed('again', {}, T0 + 6)] })).deduplicated[0]?.job.id, a.id, 'a holds the key again');
    });
  });

  describe('dependencies', () => {
    it('a job waits until every dependency completed, then becomes pending (or scheduled) in the same call', async () => {
      const d1 = newRecord(T0, { queue: 'deps' });
      const d2 = newRecord(T0, { queue: 'deps' });
      const child = after([d1.id, d2.id], 'fail', { queue: 'deps' });
      const later = after([d1.id], 'fail', { queue: 'deps', delayMs: 60_000 });
      const r = await ctx.store.jobInsertMany({ jobs: [d1, d2, child, later] });
      assert.deepEqual(r.initial, [{ index: 2, status: 'waiting' }, { index: 3, status: 'waiting' }]);
      assert.deepEqual((await ctx.store.jobGet(child.id))?.dependsOn, [d1.id, d2.id]);
      const [j1, j2] = await claim(ctx.store, 'deps', 10);
      assert.deepEqual([j1?.id, j2?.id].sort(), [d1.id, d2.id].sort(), 'waiting jobs are never claimed');
      const first = await ctx.store.jobFinishMany({ finishes: [{ id: d1.id, leaseToken: j1!.id === d1.id ? j1!.leaseToken : j2!.leaseToken, outcome: completed('"one"') }], now: T0 + 10 });
      assert.deepEqual(first[0]?.dependents?.map((d) => [d.id, d.status]), [[later.id, 'scheduled']]);
      assert.equal(await statusOf(ctx.store, child.id), 'waiting', 'one dependency left');
      const second = await ctx.store.jobFinishMany({ finishes: [{ id: d2.id, leaseToken: j1!.id === d2.id ? j1!.leaseToken : j2!.leaseToken, outcome: completed('"two"') }], now: T0 + 20 });
      assert.deepEqual(second[0]?.dependents?.map((d) => [d.id, d.status, d.dependency]), [[child.id, 'pending', d2.id]]);
      assert.equal((await claim(ctx.store, 'deps', 10, T0 + 20))[0]?.id, child.id);
      assert.deepEqual((await ctx.store.jobDependencies(child.id)).map((j) => [j.id, j.result]), [[d1.id, 'one'], [d2.id, 'two']]);
    });

    it('one finish batch of jobs with and without dependents, and a lost lease: each answered once, the dependents moved', async () => {
      const dep = newRecord(T0, { queue: 'mix' });
      const plain = newRecord(T0, { queue: 'mix' });
      const lost = newRecord(T0, { queue: 'mix' });
      const child = after([dep.id], 'fail', { queue: 'mix' });
      await ctx.store.jobInsertMany({ jobs: [dep, plain, lost, child] });
      const claimed = new Map((await claim(ctx.store, 'mix', 10)).map((j) => [j.id, j]));
      assert.equal(claimed.size, 3);
      const refs = await ctx.store.jobFinishMany({
        finishes: [
          { id: plain.id, leaseToken: claimed.get(plain.id)!.leaseToken, outcome: completed() },
          { id: lost.id, leaseToken: 'not-the-token', outcome: completed() },
          { id: dep.id, leaseToken: claimed.get(dep.id)!.leaseToken, outcome: completed() },
        ],
        now: T0 + 10,
      });
      assert.deepEqual(refs.map((r) => r.id).sort(), [dep.id, plain.id].sort(), 'the lost lease changed nothing');
      assert.deepEqual(refs.find((r) => r.id === dep.id)?.dependents?.map((d) => [d.id, d.status]), [[child.id, 'pending']]);
      assert.equal(refs.find((r) => r.id === plain.id)?.dependents, undefined);
      assert.deepEqual([await statusOf(ctx.store, plain.id), await statusOf(ctx.store, lost.id), await statusOf(ctx.store, child.id)], ['completed', 'processing', 'pending']);
    });

    it('a dependent enqueued while its dependency runs is moved by the completion, also one carrying `leased`', async () => {
      const dep = newRecord(T0, { queue: 'late' });
      await ctx.store.jobInsertMany({ jobs: [dep] });
      const [j] = await claim(ctx.store, 'late', 1);
      assert.equal(j?.id, dep.id);
      const child = after([dep.id], 'fail', { queue: 'late' });
      assert.deepEqual((await ctx.store.jobInsertMany({ jobs: [child] })).initial, [{ index: 0, status: 'waiting' }]);
      const [ref] = await ctx.store.jobFinishMany({
        finishes: [{ id: dep.id, leaseToken: j!.leaseToken, outcome: completed('"done"'), leased: { queue: j!.queue, type: j!.type, attempts: j!.attempts } }],
        now: T0 + 10,
      });
      assert.equal(ref?.id, dep.id);
      assert.deepEqual(ref?.dependents?.map((d) => [d.id, d.status]), [[child.id, 'pending']]);
      assert.equal(await statusOf(ctx.store, child.id), 'pending');
    });

    it("a dependency that fails or is cancelled ends its dependents by their policy: 'fail', 'cancel', 'ignore', down the chain", async () => {
      const dep = newRecord(T0, { queue: 'p', maxAttempts: 1 });
      const onFail = after([dep.id], 'fail', { queue: 'p' });
      const onCancel = after([dep.id], 'cancel', { queue: 'p' });
      const onIgnore = after([dep.id], 'ignore', { queue: 'p' });
      const grandchild = after([onFail.id], 'fail', { queue: 'p' });
      await ctx.store.jobInsertMany({ jobs: [dep, onFail, onCancel, onIgnore, grandchild] });
      const [j] = await claim(ctx.store, 'p', 1);
      const [ref] = await ctx.store.jobFinishMany({ finishes: [{ id: dep.id, leaseToken: j!.leaseToken, outcome: failed() }], now: T0 + 5 });
      assert.deepEqual(
        ref!.dependents?.map((d) => [d.id, d.status]).sort(),
        [[onFail.id, 'failed'], [onCancel.id, 'cancelled'], [onIgnore.id, 'pending'], [grandchild.id, 'failed']].sort(),
      );
      const failedJob = await ctx.store.jobGet(onFail.id);
      assert.equal(failedJob?.status, 'failed');
      assert.match(failedJob?.errors[0]?.message ?? '', new RegExp(`dependency ${dep.id} failed`));
      assert.equal(await statusOf(ctx.store, grandchild.id), 'failed');
      // A cancel moves dependents too.
      const d2 = newRecord(T0, { queue: 'q' });
      const w = after([d2.id], 'cancel', { queue: 'q' });
      await ctx.store.jobInsertMany({ jobs: [d2, w] });
      const r = await ctx.store.jobCancel({ id: d2.id, from: OPERATIONS.cancel.from, now: T0 + 6 });
      assert.deepEqual(r.dependents?.map((d) => [d.id, d.status]), [[w.id, 'cancelled']]);
    });

    it('depending on jobs that already ended: completed counts as done, failed applies the policy at once', async () => {
      const ok = newRecord(T0, { queue: 'e', maxAttempts: 1 });
      const bad = newRecord(T0, { queue: 'e', maxAttempts: 1 });
      await ctx.store.jobInsertMany({ jobs: [ok, bad] });
      const claimed = await claim(ctx.store, 'e', 2);
      for (const j of claimed) await finish(ctx.store, j, j.id === ok.id ? completed() : failed(), T0 + 1);
      const ready = after([ok.id]);
      const doomed = after([ok.id, bad.id], 'fail');
      const skipped = after([bad.id], 'cancel');
      const ignoring = after([bad.id], 'ignore');
      const r = await ctx.store.jobInsertMany({ jobs: [ready, doomed, skipped, ignoring] });
      assert.deepEqual(r.initial, [{ index: 1, status: 'failed' }, { index: 2, status: 'cancelled' }]);
      assert.deepEqual(await Promise.all([ready, doomed, skipped, ignoring].map((x) => statusOf(ctx.store, x.id))), ['pending', 'failed', 'cancelled', 'pending']);
    });

    it("a dependency retried by hand is unfinished again: an 'ignore' dependent waits for its new end, not for a count of ends (found by the simulator)", async () => {
      const x = newRecord(T0, { queue: 'r', maxAttempts: 1 });
      const y = newRecord(T0, { queue: 'r', delayMs: 60_000 });
      const d = after([x.id, y.id], 'ignore', { queue: 'r' });
      await ctx.store.jobInsertMany({ jobs: [x, y, d] });
      const failX = async (now: number) => {
        const [j] = await claim(ctx.store, 'r', 1, now);
        assert.equal(j?.id, x.id);
        await finish(ctx.store, j!, failed(), now);
      };
      await failX(T0 + 1);
      assert.equal(await statusOf(ctx.store, d.id), 'waiting', 'y has not ended');
      assert.ok((await ctx.store.jobRetry({ id: x.id, from: OPERATIONS.retry.from, now: T0 + 2 })).job);
      await failX(T0 + 3);
      assert.equal(await statusOf(ctx.store, d.id), 'waiting', 'x ended twice, y never: still waiting');
      await ctx.store.jobCancel({ id: y.id, from: OPERATIONS.cancel.from, now: T0 + 4 });
      assert.equal(await statusOf(ctx.store, d.id), 'pending', 'every dependency ended: ignore runs it');
    });

    it('a batch job depending (by index) on an earlier batch job whose key was held depends on the holder', async () => {
      const holder = keyed('shared');
      await ctx.store.jobInsertMany({ jobs: [holder] });
      const again = keyed('shared');
      const child = after([again.id], 'fail');
      const r = await ctx.store.jobInsertMany({ jobs: [newRecord(T0), again, child] });
      assert.equal(r.deduplicated[0]?.job.id, holder.id);
      assert.deepEqual(r.initial, [{ index: 2, status: 'waiting' }]);
      assert.deepEqual((await ctx.store.jobGet(child.id))?.dependsOn, [holder.id], 'the dependency is the job the batch got for that index');
      assert.equal(await ctx.store.jobGet(again.id), null, 'the deduplicated record was never stored');
      const [j] = await claim(ctx.store, 'default', 1);
      const leased = j!.id === holder.id ? j! : (await claim(ctx.store, 'default', 1))[0]!;
      await finish(ctx.store, leased, completed(), T0 + 1);
      assert.equal(await statusOf(ctx.store, child.id), 'pending');
    });

    it('refuses an unknown dependency, and stores nothing of the batch', async () => {
      const fine = newRecord(T0);
      const ghost = randomUUID();
      await assert.rejects(ctx.store.jobInsertMany({ jobs: [fine, after([ghost])] }), (e) => isJobqError(e, 'unknown_dependency'));
      assert.equal(await ctx.store.jobGet(fine.id), null, 'all or nothing');
    });
  });
}
