/** Real child processes and real signals: graceful drain and forced exit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { http } from '../helpers/http-server.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

async function statuses(path: string, ids: string[]) {
  const store = new SqliteStore({ path });
  try {
    return await Promise.all(ids.map(async (id) => (await store.jobGet(id))!));
  } finally {
    await store.close();
  }
}

describe('shutdown (real process, real signals)', () => {
  it('SIGTERM finishes short jobs, releases long ones to pending, exits 0, leaves nothing processing', async () => {
    const dir = tempDir();
    const db = dir.file('jobs.db');
    const srv = await spawnServer(['--sqlite-path', db, '--concurrency', '4', '--shutdown-timeout-ms', '1500']);
    try {
      const ids: string[] = [];
      for (const ms of [300, 300, 60_000, 60_000]) ids.push((await http(srv.url, 'POST', '/enqueue', { payload: { ms } })).body.id);
      await waitFor(async () => (await http(srv.url, 'GET', '/v1/queues')).body.queues[0]?.counts.processing === 4, { what: '4 jobs processing' });
      const t0 = Date.now();
      srv.child.kill('SIGTERM');
      const { code } = await srv.exited;
      assert.equal(code, 0, srv.output());
      assert.ok(Date.now() - t0 < 10_000, 'drain bounded by the grace period');
      const jobs = await statuses(db, ids);
      assert.deepEqual(jobs.map((j) => j.status), ['completed', 'completed', 'pending', 'pending']);
      assert.deepEqual(jobs.slice(2).map((j) => j.attempts), [0, 0], 'released without spending an attempt');
      assert.ok(jobs.every((j) => j.status !== 'processing'));
    } finally {
      srv.child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('SIGINT with nothing running exits 0 at once', async () => {
    const dir = tempDir();
    const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db')]);
    srv.child.kill('SIGINT');
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.output());
    dir.remove();
  });

  it('a second signal forces an immediate exit; the job stays leased for the rescuer', async () => {
    const dir = tempDir();
    const db = dir.file('jobs.db');
    const srv = await spawnServer(['--sqlite-path', db, '--shutdown-timeout-ms', '60000', '--log-level', 'info']);
    try {
      const id = (await http(srv.url, 'POST', '/enqueue', { payload: { ms: 60_000 } })).body.id as string;
      await waitFor(async () => (await http(srv.url, 'GET', `/status/${id}`)).body.status === 'processing');
      srv.child.kill('SIGTERM');
      await waitFor(() => srv.output().includes('shutting down gracefully'), { what: 'drain to begin' });
      srv.child.kill('SIGTERM');
      const { code } = await srv.exited;
      assert.equal(code, 130, srv.output());
      const [job] = await statuses(db, [id]);
      assert.equal(job?.status, 'processing', 'left for lease expiry');
      assert.ok((job?.leaseExpiresAt ?? 0) > 0);
    } finally {
      srv.child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('rejects a bad setting at start with an error naming it', async () => {
    await assert.rejects(spawnServer(['--concurrency', 'lots']), /invalid --concurrency \(JOBQ_CONCURRENCY\)/);
  });
});
