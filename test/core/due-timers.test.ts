/**
 * A worker's loop and the queue's scheduled jobs, on every store: the loop
 * learns when the next one falls due from its own short claim
 * (ClaimedJobs.nextRunAt), wakes on time for a delayed job another node
 * enqueued, and does not claim again and again while a job of a type it has
 * no handler for is due.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Store } from '../../src/contracts/store.js';
import { Jobq } from '../../src/core/jobq.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { makeBackend } from '../chaos/backends.js';
import { stopSharedCluster } from '../helpers/postgres.js';
import { watchStoreCalls } from '../helpers/store-calls.js';
import { waitFor } from '../helpers/wait-for.js';

after(stopSharedCluster);

/** Two nodes' stores on one backend (on the memory store, which no other process shares, the worker enqueues itself). */
async function storesFor(backend: 'memory' | 'sqlite' | 'postgres'): Promise<{ producer: Store | null; worker: Store; cleanup(): void }> {
  if (backend === 'memory') return { producer: null, worker: new MemoryStore(), cleanup: () => {} };
  const b = await makeBackend(backend);
  return { producer: await b.open(), worker: await b.open(), cleanup: () => b.cleanup() };
}

/** A node that runs only `mine`, polls rarely and rescues rarely: whatever wakes it early is its due timer. */
function workerNode(store: Store, ran: number[]): Jobq {
  return new Jobq({ store, handlers: { mine: () => void ran.push(Date.now()) }, queues: { default: { concurrency: 5 } }, pollIntervalMs: 20_000, rescueIntervalMs: 60_000 });
}

for (const backend of ['memory', 'sqlite', 'postgres'] as const) {
  describe(`due timers: ${backend}`, () => {
    it('claims a few times, not again and again, while a job of a type it has no handler for is due', async () => {
      const stores = await storesFor(backend);
      const ran: number[] = [];
      const worker = workerNode(stores.worker, ran);
      const producer = stores.producer ? new Jobq({ store: stores.producer, queues: {} }) : worker;
      const calls = watchStoreCalls(stores.worker, 'default');
      try {
        worker.start();
        await waitFor(() => calls.claims >= 1, { what: 'the first claim' });
        const dueAt = Date.now() + 100;
        await producer.enqueue({ type: 'other', runAt: dueAt });
        await producer.enqueue({ type: 'mine', runAt: dueAt + 600 });
        await waitFor(() => ran.length === 1, { what: 'its own job, due 700 ms after the other', timeoutMs: 5000 });
        assert.ok(ran[0]! >= dueAt + 595, `its own job ran ${ran[0]! - dueAt - 600} ms before it was due`);
        // Before the fix, on Postgres: about 200 claims and as many reads a second from the other job's due time on.
        assert.ok(calls.claims <= 8, `${calls.claims} claims while the other type's job was due`);
        assert.equal(calls.lookups, 0, 'every claim said when the next job falls due: nothing read apart');
      } finally {
        await worker.close();
        if (producer !== worker) await producer.close();
        stores.cleanup();
      }
    });

    if (backend !== 'memory') {
      it('wakes on time for a delayed job another node enqueued (not at its 20 s poll)', async () => {
        const stores = await storesFor(backend);
        const producer = new Jobq({ store: stores.producer!, queues: {} });
        const ran: number[] = [];
        const worker = workerNode(stores.worker, ran);
        const calls = watchStoreCalls(stores.worker, 'default');
        try {
          worker.start();
          await waitFor(() => calls.claims >= 1, { what: 'the first claim' });
          const dueAt = Date.now() + 300;
          const { id } = await producer.enqueue({ type: 'mine', runAt: dueAt });
          await waitFor(() => ran.length === 1, { what: 'the delayed job to run', timeoutMs: 5000 });
          const late = ran[0]! - dueAt;
          assert.ok(late >= -5 && late < 1000, `ran ${late} ms after it was due`);
          assert.equal((await producer.get(id))?.attempts, 1);
          assert.equal(calls.lookups, 0, 'the claim woken by the enqueue said when the job falls due');
        } finally {
          await worker.close();
          await producer.close();
          stores.cleanup();
        }
      });
    }
  });
}
