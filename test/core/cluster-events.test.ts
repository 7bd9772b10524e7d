/**
 * Events across nodes: a node subscribed to its bus sees the transitions
 * other nodes make on a shared store (Postgres: NOTIFY per batch; SQLite: a
 * small events table read after each commit), and waitFor resolves with a
 * job finished elsewhere. Every field crosses (a start's dueAt too). Two Jobq nodes, each with its own connections.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { JobEvent } from '../../src/contracts/events.js';
import type { Store } from '../../src/contracts/store.js';
import { Jobq } from '../../src/core/jobq.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { summarize } from '../../bench/stats.js';

after(stopSharedCluster);

async function pair(backend: 'sqlite' | 'postgres'): Promise<{ open(): Promise<Store>; cleanup(): void }> {
  if (backend === 'sqlite') {
    const dir = tempDir();
    return { open: async () => new SqliteStore({ path: dir.file('jobs.db') }), cleanup: () => dir.remove() };
  }
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  return { open: () => PostgresStore.open({ connectionString: url, schema }), cleanup: () => {} };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`events across nodes: ${backend}`, () => {
    it("a subscriber sees another node's transitions within 100 ms (p99), and waitFor resolves with a job finished elsewhere", async () => {
      const stores = await pair(backend);
      const watcher = new Jobq({ store: await stores.open(), queues: {} });
      const worker = new Jobq({ store: await stores.open(), handlers: { work: () => 'ok' }, queues: { default: { concurrency: 20 } } });
      watcher.start();
      worker.start();
      const seen: { e: JobEvent; at: number }[] = [];
      const sub = watcher.events.subscribe((e) => seen.push({ e, at: Date.now() }), { filter: { queue: 'default' } });
      try {
        // Publishers notice a new subscriber within about a second: wait until events flow.
        await waitFor(async () => {
          await worker.enqueue({ type: 'work' });
          return seen.some((s) => s.e.kind === 'completed');
        }, { what: 'events from the other node', timeoutMs: 15_000, intervalMs: 200 });
        // Lag is a timing: another test file on the same 2 cores can stall one batch. The best of
        // three batches must hold the bound; a real regression (a slow poll, a missed wake) fails all three.
        const lags: number[] = [];
        for (let batch = 0; batch < 3 && !(lags.length > 0 && Math.min(...lags) <= 100); batch++) {
          seen.length = 0;
          const jobs: { id: string }[] = [];
          for (let i = 0; i < 20; i++) jobs.push(...(await worker.enqueueMany(Array.from({ length: 10 }, () => ({ type: 'work' })))));
          const last = jobs.at(-1)!;
          const done = await watcher.waitFor(last.id, { timeoutMs: 15_000 });
          assert.equal(done.status, 'completed');
          await waitFor(() => jobs.every((j) => seen.some((s) => s.e.jobId === j.id && s.e.kind === 'completed')), { what: 'a completed event for every job', timeoutMs: 15_000 });
          for (const j of jobs) {
            const kinds = seen.filter((s) => s.e.jobId === j.id).map((s) => s.e.kind);
            assert.deepEqual(kinds, ['enqueued', 'started', 'completed'], `events of ${j.id} once each, in order`);
          }
          // A start carries when its job was due, intact across processes (the live view's waits need it).
          const stored = (await watcher.get(last.id))!;
          const started = seen.find((s) => s.e.jobId === last.id && s.e.kind === 'started')!.e;
          assert.equal(started.dueAt, Math.max(stored.runAt, stored.createdAt));
          const lag = summarize(seen.map((s) => s.at - s.e.at));
          console.log(`events | ${backend} | batch ${batch + 1}: ${seen.length} events from another node, delivery lag p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`);
          lags.push(lag.p99);
        }
        assert.ok(Math.min(...lags) <= 100, `p99 delivery lag of every batch over 100 ms: ${lags.join(', ')} ms`);
      } finally {
        sub.unsubscribe();
        await worker.close();
        await watcher.close();
        stores.cleanup();
      }
    });
  });
}
