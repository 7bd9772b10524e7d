/** Real SQLite, two nodes on one file, real clock: no job runs twice while its lease is valid. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('concurrency', () => {
  it('two nodes sharing one SQLite file run each of 2,000 jobs exactly once', async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    const runs = new Map<string, number>();
    const handler = async (job: { id: string }) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
    };
    const nodes = [0, 1].map(
      () => new Jobq({ store: new SqliteStore({ path }), handlers: { work: handler }, queues: { default: { concurrency: 25 } }, leaseMs: 60_000 }),
    );
    for (const n of nodes) n.startWorkers();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const jobs = await nodes[i % 2]!.enqueueMany(Array.from({ length: 100 }, (_, k) => ({ type: 'work', payload: { i, k } })));
      ids.push(...jobs.map((j) => j.id));
    }
    await waitFor(async () => (await nodes[0]!.queues.list()).queues[0]?.counts.completed === 2000, { what: '2,000 completed', timeoutMs: 30_000 });
    for (const n of nodes) await n.close();
    assert.equal(runs.size, 2000);
    const twice = [...runs.values()].filter((n) => n > 1).length;
    assert.equal(twice, 0, `${twice} jobs ran more than once`);
    dir.remove();
  });

  it('group commit: 1,000 concurrent library enqueues share a handful of transactions', async () => {
    const store = new MemoryStore();
    let transactions = 0;
    const insert = store.jobInsertMany.bind(store);
    store.jobInsertMany = async (p) => {
      transactions++;
      return insert(p);
    };
    const jobq = new Jobq({ store });
    const jobs = await Promise.all(Array.from({ length: 1000 }, (_, i) => jobq.enqueue({ type: 't', payload: i })));
    assert.equal(new Set(jobs.map((j) => j.id)).size, 1000);
    assert.ok(transactions <= 2, `expected the calls of one tick to share a transaction, got ${transactions}`);
    await jobq.close();
  });

  it('an enqueue is acknowledged only after its transaction committed, and a failed commit fails every caller in it', async () => {
    const store = new MemoryStore();
    store.jobInsertMany = async () => {
      throw new Error('disk full');
    };
    const jobq = new Jobq({ store });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => jobq.enqueue({ type: 't' })));
    assert.ok(results.every((r) => r.status === 'rejected'));
    await jobq.close();
  });
});
