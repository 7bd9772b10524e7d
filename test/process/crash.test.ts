/** kill -9 at the worst moments, on a real SQLite file: nothing acknowledged is lost, nothing stays stuck. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { http } from '../helpers/http-server.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('crash recovery (real process, kill -9)', () => {
  it('every enqueue that got a 2xx survives kill -9 during a burst', async () => {
    const dir = tempDir();
    const db = dir.file('jobs.db');
    const srv = await spawnServer(['--sqlite-path', db, '--queues', 'idle']); // no workers on "default": jobs stay put
    const acked: string[] = [];
    let stop = false;
    const loops = Array.from({ length: 16 }, async (_, loop) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', payload: { loop, i } });
          if (res.status === 201) acked.push(res.body.id);
        } catch {
          return; // connection refused or reset once the process is gone
        }
      }
    });
    await waitFor(() => acked.length >= 1500, { what: '1,500 acknowledged enqueues', timeoutMs: 30_000 });
    srv.child.kill('SIGKILL');
    const { signal } = await srv.exited;
    stop = true;
    await Promise.all(loops);
    assert.equal(signal, 'SIGKILL');
    const restarted = await spawnServer(['--sqlite-path', db, '--queues', 'idle']);
    try {
      const missing: string[] = [];
      for (const id of acked) if ((await http(restarted.url, 'GET', `/v1/jobs/${id}`)).status !== 200) missing.push(id);
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged jobs lost`);
    } finally {
      restarted.child.kill('SIGKILL');
      await restarted.exited;
      dir.remove();
    }
  });

  it('jobs interrupted by kill -9 run again after their lease expires, and complete', async () => {
    const dir = tempDir();
    const db = dir.file('jobs.db');
    const args = ['--sqlite-path', db, '--handlers', FIXTURE_HANDLERS, '--lease-ms', '1000', '--rescue-interval-ms', '200', '--concurrency', '5'];
    const first = await spawnServer(args);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await http(first.url, 'POST', '/v1/jobs', { type: 'sleepFirstAttempt', payload: { ms: 60_000 } })).body.id);
    await waitFor(async () => (await http(first.url, 'GET', '/v1/queues')).body.queues[0]?.counts.processing === 5, { what: '5 jobs processing' });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await spawnServer(args);
    try {
      await waitFor(
        async () => {
          const q = (await http(second.url, 'GET', '/v1/queues')).body.queues[0];
          return q?.counts.completed === 5;
        },
        { what: 'all 5 jobs completed after restart', timeoutMs: 20_000 },
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const store = new SqliteStore({ path: db });
    for (const id of ids) {
      const job = await store.jobGet(id);
      assert.equal(job?.status, 'completed');
      assert.equal(job?.attempts, 2, 'the crashed attempt counts');
      assert.deepEqual(job?.result, { attempt: 2 });
      assert.match(job?.errors[0]?.message ?? '', /lease expired/);
    }
    await store.close();
    dir.remove();
  });
});
