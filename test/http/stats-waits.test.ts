/**
 * GET /v1/stats waits come from every node's starts: an API-only node (no
 * workers) reports the wait p50/p99 of jobs another process's workers ran,
 * from their `started` events (each says when its job was due), carried by
 * the shared SQLite file's event feed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEvent } from '../../src/contracts/events.js';
import { Jobq } from '../../src/core/jobq.js';
import { createHttpApp } from '../../src/http/app.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('GET /v1/stats waits', () => {
  it("are every node's: an API-only node reports the waits of jobs another node's workers started", async () => {
    const dir = tempDir();
    const api = new Jobq({ store: new SqliteStore({ path: dir.file('jobs.db') }), queues: {} });
    const worker = new Jobq({ store: new SqliteStore({ path: dir.file('jobs.db') }), handlers: { work: () => 'ok' }, queues: { default: { concurrency: 4 } } });
    const app = await createHttpApp({ jobq: api, readiness: { ready: true } });
    const starts: JobEvent[] = [];
    const sub = api.events.subscribe((e) => starts.push(e), { filter: { kinds: ['started'] } });
    try {
      await api.start();
      await worker.start();
      // The worker publishes once it sees a subscriber in another process (it looks about once a second).
      await waitFor(async () => {
        await worker.waitFor((await worker.enqueue({ type: 'work' })).id);
        return starts.length > 0;
      }, { what: "a started event from the worker's process", timeoutMs: 15_000, intervalMs: 100 });
      const jobs = await worker.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ type: 'work', delayMs: i % 2 === 0 ? 0 : 20 })));
      await waitFor(() => jobs.every((j) => starts.some((e) => e.jobId === j.id)), { what: 'the started events of 50 jobs', timeoutMs: 15_000 });
      assert.equal(api.runningJobs, 0, 'the API node ran nothing');
      for (const j of [jobs[0]!, jobs[1]!]) {
        const stored = (await api.get(j.id))!;
        assert.equal(starts.find((e) => e.jobId === j.id)!.dueAt, Math.max(stored.runAt, stored.createdAt), 'the due time crossed processes intact');
      }

      const res = await app.inject({ method: 'GET', url: '/v1/stats' });
      assert.equal(res.statusCode, 200);
      const w = (res.json() as { waits: Record<string, { p50: number; p99: number; samples: number }> }).waits.default;
      assert.ok(w, 'waits for the default queue');
      assert.equal(w.samples, starts.length, 'one sample per start seen');
      const waits = starts.map((e) => Math.max(0, (e.at - e.dueAt!) / 1000)).sort((a, b) => a - b);
      const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))];
      assert.deepEqual({ p50: w.p50, p99: w.p99 }, { p50: at(0.5), p99: at(0.99) });
    } finally {
      sub.unsubscribe();
      await app.close();
      await worker.close();
      await api.close();
      dir.remove();
    }
  });
});
