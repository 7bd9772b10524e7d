/**
 * The one behavioural suite every Store backend must pass unchanged. A backend
 * test file supplies only a factory (and, at most, skips that carry a reason).
 */
import assert from 'node:assert/strict';
import { describe, it, beforeEach, afterEach } from 'node:test';
import { randomUUID } from 'node:crypto';
import { isJobqError } from '../../../src/core/errors.js';
import type { JobError, LeasedJob } from '../../../src/core/job.js';
import type { Store } from '../../../src/storage/store.js';
import { newRecord, newRecords } from '../../helpers/job-factory.js';

export interface OpenedStore {
  store: Store;
  /** A second, independent handle on the same data (another connection), for shared stores. */
  openPeer?: () => Promise<Store>;
  cleanup?: () => Promise<void>;
}

export interface StoreFactory {
  name: string;
  open(): Promise<OpenedStore>;
}

const T0 = Date.UTC(2030, 0, 1);
const LEASE = 30_000;

function err(attempt: number, message = 'boom'): JobError {
  return { attempt, message, at: T0 };
}

export function runStoreConformance(factory: StoreFactory): void {
  describe(`Store conformance: ${factory.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    const peers: Store[] = [];

    beforeEach(async () => {
      opened = await factory.open();
      store = opened.store;
    });
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      await store.close();
      await opened.cleanup?.();
    });

    const claim = (queue = 'default', limit = 10, now = T0, token = randomUUID()) =>
      store.jobClaim({ queue, limit, now, leaseMs: LEASE, leaseToken: token });

    describe('insert, get, list', () => {
      it('stores every field and reads it back', async () => {
        const rec = newRecord(T0, { queue: 'q1', type: 'email', payload: { to: 'a@b.c', n: [1, 2.5, null], ü: '日本' }, priority: 7, maxAttempts: 4, timeoutMs: 900 });
        await store.jobInsertMany({ jobs: [rec] });
        const job = await store.jobGet(rec.id);
        assert.ok(job);
        assert.deepEqual(job, {
          id: rec.id, queue: 'q1', type: 'email', payload: { to: 'a@b.c', n: [1, 2.5, null], ü: '日本' }, status: 'pending',
          priority: 7, attempts: 0, maxAttempts: 4, timeoutMs: 900, runAt: T0, createdAt: T0, startedAt: null, finishedAt: null,
          updatedAt: T0, result: null, errors: [], progress: null, leaseExpiresAt: null,
        });
      });

      it('returns null for an unknown id', async () => {
        assert.equal(await store.jobGet(randomUUID()), null);
      });

      it('stores a future job as scheduled', async () => {
        const rec = newRecord(T0, { delayMs: 5000 });
        await store.jobInsertMany({ jobs: [rec] });
        const job = await store.jobGet(rec.id);
        assert.equal(job?.status, 'scheduled');
        assert.equal(job?.runAt, T0 + 5000);
      });

      it('pages through a list with a cursor, in insertion order, with filters', async () => {
        const a = newRecords(T0, 25, { queue: 'a' });
        const b = newRecords(T0, 5, { queue: 'b' });
        await store.jobInsertMany({ jobs: [...a.slice(0, 10), ...b, ...a.slice(10)] });
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.jobList({ queue: 'a', limit: 10, ...(cursor ? { cursor } : {}) });
          seen.push(...page.jobs.map((j) => j.id));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor);
        assert.equal(pages, 3);
        assert.deepEqual(seen, a.map((r) => r.id));
        const all = await store.jobList({ limit: 100 });
        assert.equal(all.jobs.length, 30);
        assert.equal(all.nextCursor, null);
        await claim('b', 2);
        const processing = await store.jobList({ status: 'processing', limit: 10 });
        assert.deepEqual(processing.jobs.map((j) => j.id), b.slice(0, 2).map((r) => r.id));
        const bPending = await store.jobList({ queue: 'b', status: 'pending', limit: 10 });
        assert.deepEqual(bPending.jobs.map((j) => j.id), b.slice(2).map((r) => r.id));
      });

      it('rejects a cursor it did not issue', async () => {
        await assert.rejects(store.jobList({ limit: 10, cursor: 'not-a-cursor' }), (e) => isJobqError(e, 'invalid_request'));
      });
    });

    describe('claim', () => {
      it('moves ready jobs to processing under a lease and counts the attempt', async () => {
        const [rec] = newRecords(T0, 1);
        await store.jobInsertMany({ jobs: [rec!] });
        const token = randomUUID();
        const [job] = await claim('default', 5, T0 + 10, token);
        assert.equal(job?.id, rec!.id);
        assert.equal(job?.status, 'processing');
        assert.equal(job?.attempts, 1);
        assert.equal(job?.leaseToken, token);
        assert.equal(job?.leaseExpiresAt, T0 + 10 + LEASE);
        assert.equal(job?.startedAt, T0 + 10);
        assert.deepEqual(job?.payload, rec && JSON.parse(rec.payloadJson));
        assert.deepEqual(await claim(), [], 'a claimed job is not claimed again');
      });

      it('takes at most `limit` jobs, only from the named queue', async () => {
        await store.jobInsertMany({ jobs: [...newRecords(T0, 7, { queue: 'a' }), ...newRecords(T0, 3, { queue: 'b' })] });
        assert.equal((await claim('a', 5)).length, 5);
        assert.equal((await claim('a', 5)).length, 2);
        assert.equal((await claim('a', 5)).length, 0);
        assert.equal((await claim('b', 5)).length, 3);
        assert.equal((await claim('nope', 5)).length, 0);
      });

      it('orders by priority (higher first), then runAt, then insertion', async () => {
        const low = newRecord(T0, { priority: -1 });
        const mid1 = newRecord(T0, { priority: 0 });
        const mid2 = newRecord(T0, { priority: 0 });
        const high = newRecord(T0, { priority: 5 });
        const midEarlier = newRecord(T0 - 1000, { priority: 0 });
        await store.jobInsertMany({ jobs: [low, mid1, mid2, high, midEarlier] });
        const order: string[] = [];
        for (let i = 0; i < 5; i++) order.push(...(await claim('default', 1, T0 + 1)).map((j) => j.id));
        assert.deepEqual(order, [high.id, midEarlier.id, mid1.id, mid2.id, low.id]);
        const batch = newRecords(T0, 5);
        await store.jobInsertMany({ jobs: batch });
        assert.deepEqual((await claim('default', 5, T0 + 1)).map((j) => j.id), batch.map((r) => r.id), 'a batch comes back in order');
      });

      it('never hands one job to two concurrent claimers', async () => {
        const recs = newRecords(T0, 200);
        await store.jobInsertMany({ jobs: recs });
        const claimers: Store[] = [store];
        if (opened.openPeer) for (let i = 0; i < 2; i++) claimers.push(...[await opened.openPeer()].map((p) => (peers.push(p), p)));
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            claimers[i % claimers.length]!.jobClaim({ queue: 'default', limit: 13, now: T0, leaseMs: LEASE, leaseToken: randomUUID() }),
          ),
        );
        const ids = results.flat().map((j) => j.id);
        assert.equal(ids.length, 200);
        assert.equal(new Set(ids).size, 200);
      });

      it('leaves scheduled jobs until their runAt, then claims them', async () => {
        const later = newRecord(T0, { delayMs: 1000 });
        await store.jobInsertMany({ jobs: [later] });
        assert.deepEqual(await claim('default', 5, T0 + 999), []);
        assert.equal(await store.jobNextRunAt('default'), T0 + 1000);
        const [job] = await claim('default', 5, T0 + 1000);
        assert.equal(job?.id, later.id);
        assert.equal(await store.jobNextRunAt('default'), null);
      });

      it('claims nothing from a paused queue until it is resumed', async () => {
        await store.jobInsertMany({ jobs: newRecords(T0, 3) });
        await store.queuePause('default');
        assert.deepEqual(await claim(), []);
        const [info] = await store.queueList();
        assert.equal(info?.paused, true);
        await store.queueResume('default');
        assert.equal((await claim()).length, 3);
      });
    });

    describe('leases and finishing', () => {
      async function oneClaimed(input = {}): Promise<LeasedJob> {
        await store.jobInsertMany({ jobs: [newRecord(T0, input)] });
        const [job] = await claim();
        assert.ok(job);
        return job;
      }

      it('extends a lease only with the right token', async () => {
        const job = await oneClaimed();
        const ok = await store.jobExtendLeases({ leases: [{ id: job.id, leaseToken: job.leaseToken }, { id: job.id, leaseToken: 'wrong' }], now: T0 + 5000, leaseMs: LEASE });
        assert.deepEqual(ok, [job.id]);
        assert.equal((await store.jobGet(job.id))?.leaseExpiresAt, T0 + 5000 + LEASE);
        assert.deepEqual(await store.jobExtendLeases({ leases: [{ id: job.id, leaseToken: 'wrong' }], now: T0, leaseMs: LEASE }), []);
      });

      it('completes with the right token only, once, keeping the result', async () => {
        const job = await oneClaimed();
        const wrong = await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: 'wrong', outcome: { kind: 'completed', resultJson: '1' } }], now: T0 + 1 });
        assert.deepEqual(wrong, []);
        assert.equal((await store.jobGet(job.id))?.status, 'processing');
        const done = await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: { kind: 'completed', resultJson: '{"ok":true}' } }], now: T0 + 2 });
        assert.deepEqual(done, [job.id]);
        const again = await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: { kind: 'failed', error: err(1) } }], now: T0 + 3 });
        assert.deepEqual(again, [], 'a finished job cannot be finished again');
        const stored = await store.jobGet(job.id);
        assert.equal(stored?.status, 'completed');
        assert.deepEqual(stored?.result, { ok: true });
        assert.equal(stored?.finishedAt, T0 + 2);
        assert.equal(stored?.leaseExpiresAt, null);
      });

      it('schedules a retry with the error kept, or makes it pending when due now', async () => {
        const job = await oneClaimed();
        await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: { kind: 'retry', runAt: T0 + 4000, error: err(1, 'first') } }], now: T0 });
        let stored = await store.jobGet(job.id);
        assert.equal(stored?.status, 'scheduled');
        assert.equal(stored?.runAt, T0 + 4000);
        assert.deepEqual(stored?.errors.map((e) => e.message), ['first']);
        const [again] = await claim('default', 1, T0 + 4000);
        assert.equal(again?.attempts, 2);
        await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: again!.leaseToken, outcome: { kind: 'retry', runAt: T0 + 4000, error: err(2, 'second') } }], now: T0 + 4000 });
        stored = await store.jobGet(job.id);
        assert.equal(stored?.status, 'pending');
        assert.deepEqual(stored?.errors.map((e) => [e.attempt, e.message]), [[1, 'first'], [2, 'second']]);
      });

      it('fails with the error history kept, stack included', async () => {
        const job = await oneClaimed();
        const e: JobError = { attempt: 1, message: 'bad', stack: 'Error: bad\n    at x', at: T0 };
        await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: { kind: 'failed', error: e } }], now: T0 + 9 });
        const stored = await store.jobGet(job.id);
        assert.equal(stored?.status, 'failed');
        assert.equal(stored?.finishedAt, T0 + 9);
        assert.deepEqual(stored?.errors, [e]);
      });

      it('finishes many in one call, skipping those whose lease was lost', async () => {
        await store.jobInsertMany({ jobs: newRecords(T0, 3) });
        const [a, b, c] = await claim('default', 3);
        const done = await store.jobFinishMany({
          finishes: [
            { id: a!.id, leaseToken: a!.leaseToken, outcome: { kind: 'completed', resultJson: null } },
            { id: b!.id, leaseToken: 'stale', outcome: { kind: 'completed', resultJson: null } },
            { id: c!.id, leaseToken: c!.leaseToken, outcome: { kind: 'failed', error: err(1) } },
          ],
          now: T0,
        });
        assert.deepEqual(done.sort(), [a!.id, c!.id].sort());
      });

      it('releases back to pending without spending the attempt', async () => {
        const job = await oneClaimed();
        assert.deepEqual(await store.jobReleaseMany({ leases: [{ id: job.id, leaseToken: 'wrong' }], now: T0 }), []);
        assert.deepEqual(await store.jobReleaseMany({ leases: [{ id: job.id, leaseToken: job.leaseToken }], now: T0 + 1 }), [job.id]);
        const stored = await store.jobGet(job.id);
        assert.equal(stored?.status, 'pending');
        assert.equal(stored?.attempts, 0);
        assert.equal(stored?.leaseExpiresAt, null);
        assert.equal((await claim())[0]?.attempts, 1);
      });

      it('records progress under the lease only', async () => {
        const job = await oneClaimed();
        assert.equal(await store.jobSetProgress({ id: job.id, leaseToken: 'wrong', progress: 10, now: T0 }), false);
        assert.equal(await store.jobSetProgress({ id: job.id, leaseToken: job.leaseToken, progress: 42.5, now: T0 }), true);
        assert.equal((await store.jobGet(job.id))?.progress, 42.5);
      });
    });

    describe('rescue of expired leases', () => {
      it('puts expired jobs back with the attempt spent and an error, fails exhausted ones, fences the old worker', async () => {
        await store.jobInsertMany({ jobs: [newRecord(T0, { maxAttempts: 2 }), newRecord(T0, { maxAttempts: 1 })] });
        const [retryable, last] = await claim('default', 2);
        await store.jobInsertMany({ jobs: [newRecord(T0 + 20_000)] });
        const [fresh] = await claim('default', 1, T0 + 20_000);
        assert.deepEqual(await store.jobRescueExpired({ now: T0 + LEASE - 1, limit: 100, retryDelayMs: () => 0 }), [], 'nothing expired yet');
        const rescued = await store.jobRescueExpired({ now: T0 + LEASE, limit: 100, retryDelayMs: (n) => n * 1000 });
        assert.deepEqual(
          rescued.map((r) => [r.id, r.status]).sort(),
          [[retryable!.id, 'scheduled'], [last!.id, 'failed']].sort(),
        );
        const r = await store.jobGet(retryable!.id);
        assert.equal(r?.attempts, 1);
        assert.equal(r?.runAt, T0 + LEASE + 1000);
        assert.match(r?.errors[0]?.message ?? '', /lease expired/);
        assert.equal((await store.jobGet(last!.id))?.status, 'failed');
        assert.equal((await store.jobGet(fresh!.id))?.status, 'processing', 'a live lease is left alone');
        assert.deepEqual(await store.jobRescueExpired({ now: T0 + LEASE, limit: 100, retryDelayMs: () => 0 }), [], 'rescue is not repeated');
        const late = await store.jobFinishMany({ finishes: [{ id: retryable!.id, leaseToken: retryable!.leaseToken, outcome: { kind: 'completed', resultJson: null } }], now: T0 + LEASE + 1 });
        assert.deepEqual(late, [], 'the worker that lost its lease cannot complete the job');
      });

      it('respects the limit', async () => {
        await store.jobInsertMany({ jobs: newRecords(T0, 5) });
        await claim('default', 5);
        assert.equal((await store.jobRescueExpired({ now: T0 + LEASE, limit: 2, retryDelayMs: () => 0 })).length, 2);
        assert.equal((await store.jobRescueExpired({ now: T0 + LEASE, limit: 10, retryDelayMs: () => 0 })).length, 3);
      });
    });

    describe('cancel and manual retry', () => {
      it('cancels from scheduled, pending and processing; a cancelled worker cannot finish', async () => {
        const scheduled = newRecord(T0, { delayMs: 10_000 });
        const pending = newRecord(T0);
        const processing = newRecord(T0);
        await store.jobInsertMany({ jobs: [processing, scheduled, pending] });
        const [running] = await claim('default', 1);
        assert.equal(running?.id, processing.id);
        for (const id of [scheduled.id, pending.id, processing.id]) {
          const job = await store.jobCancel({ id, now: T0 + 5 });
          assert.equal(job.status, 'cancelled');
          assert.equal(job.finishedAt, T0 + 5);
        }
        const late = await store.jobFinishMany({ finishes: [{ id: running!.id, leaseToken: running!.leaseToken, outcome: { kind: 'completed', resultJson: null } }], now: T0 + 6 });
        assert.deepEqual(late, []);
        assert.deepEqual(await claim('default', 10, T0 + 20_000), [], 'cancelled jobs are never claimed');
      });

      it('refuses to cancel finished jobs and unknown ids', async () => {
        await store.jobInsertMany({ jobs: newRecords(T0, 2) });
        const [a, b] = await claim('default', 2);
        await store.jobFinishMany({
          finishes: [
            { id: a!.id, leaseToken: a!.leaseToken, outcome: { kind: 'completed', resultJson: null } },
            { id: b!.id, leaseToken: b!.leaseToken, outcome: { kind: 'failed', error: err(1) } },
          ],
          now: T0,
        });
        await assert.rejects(store.jobCancel({ id: a!.id, now: T0 }), (e) => isJobqError(e, 'illegal_transition'));
        await assert.rejects(store.jobCancel({ id: b!.id, now: T0 }), (e) => isJobqError(e, 'illegal_transition'));
        await store.jobRetry({ id: b!.id, now: T0 });
        await store.jobCancel({ id: b!.id, now: T0 });
        await assert.rejects(store.jobCancel({ id: b!.id, now: T0 }), (e) => isJobqError(e, 'illegal_transition'));
        await assert.rejects(store.jobCancel({ id: randomUUID(), now: T0 }), (e) => isJobqError(e, 'not_found'));
        assert.equal((await store.jobGet(a!.id))?.status, 'completed', 'a refused cancel changes nothing');
      });

      it('retries failed and cancelled jobs with a fresh attempt budget, keeping the errors', async () => {
        await store.jobInsertMany({ jobs: [newRecord(T0, { maxAttempts: 1 })] });
        const [job] = await claim();
        await store.jobFinishMany({ finishes: [{ id: job!.id, leaseToken: job!.leaseToken, outcome: { kind: 'failed', error: err(1) } }], now: T0 });
        const retried = await store.jobRetry({ id: job!.id, now: T0 + 100 });
        assert.equal(retried.status, 'pending');
        assert.equal(retried.attempts, 0);
        assert.equal(retried.finishedAt, null);
        assert.equal(retried.errors.length, 1);
        await assert.rejects(store.jobRetry({ id: job!.id, now: T0 }), (e) => isJobqError(e, 'illegal_transition'));
        await assert.rejects(store.jobRetry({ id: randomUUID(), now: T0 }), (e) => isJobqError(e, 'not_found'));
        assert.equal((await claim('default', 1, T0 + 100))[0]?.id, job!.id);
      });
    });

    describe('counts and prune', () => {
      it('counts jobs per queue and status', async () => {
        await store.jobInsertMany({ jobs: [...newRecords(T0, 4, { queue: 'a' }), newRecord(T0, { queue: 'b', delayMs: 60_000 })] });
        const [x] = await claim('a', 1);
        await claim('a', 1);
        await store.jobFinishMany({ finishes: [{ id: x!.id, leaseToken: x!.leaseToken, outcome: { kind: 'completed', resultJson: null } }], now: T0 });
        const queues = await store.queueList();
        assert.deepEqual(queues, [
          { name: 'a', paused: false, counts: { scheduled: 0, pending: 2, processing: 1, completed: 1, failed: 0, cancelled: 0 } },
          { name: 'b', paused: false, counts: { scheduled: 1, pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 } },
        ]);
      });

      it('prunes finished jobs finished before the time, up to the limit, and nothing else', async () => {
        const recs = newRecords(T0, 6);
        await store.jobInsertMany({ jobs: recs });
        const claimed = await claim('default', 5);
        const finish = (j: LeasedJob, now: number) =>
          store.jobFinishMany({ finishes: [{ id: j.id, leaseToken: j.leaseToken, outcome: { kind: 'completed', resultJson: null } }], now });
        await finish(claimed[0]!, T0 + 1);
        await finish(claimed[1]!, T0 + 2);
        await finish(claimed[2]!, T0 + 3);
        await store.jobCancel({ id: recs[5]!.id, now: T0 + 1 });
        assert.equal(await store.jobPrune({ finishedBefore: T0 + 3, limit: 2 }), 2);
        assert.equal(await store.jobPrune({ finishedBefore: T0 + 3, limit: 100 }), 1);
        const left = (await store.jobList({ limit: 100 })).jobs.map((j) => j.status).sort();
        assert.deepEqual(left, ['completed', 'processing', 'processing']);
      });
    });
  });
}
