/** Issue #7, item 12: SIGHUP and SIGUSR2 drain gracefully, like SIGTERM. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { http } from '../helpers/http-server.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
  it(`${signal}: a short running job completes, "stopped cleanly" is logged, exit code 0`, async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    const srv = await spawnServer(['--sqlite-path', path, '--shutdown-timeout-ms', '5000', '--log-level', 'info']);
    try {
      const id = (await http(srv.url, 'POST', '/enqueue', { payload: { ms: 400 } })).body.id as string;
      await waitFor(async () => (await http(srv.url, 'GET', `/status/${id}`)).body.status === 'processing', { what: 'the job to start' });
      srv.child.kill(signal);
      const { code, signal: by } = await srv.exited;
      assert.equal(by, null, `ended by the signal itself (${by}), not by a drain:\n${srv.output().slice(-500)}`);
      assert.equal(code, 0, srv.output().slice(-1000));
      // 'exit' can come before the last of its stdout: wait briefly for the line.
      await waitFor(() => srv.output().includes('stopped cleanly'), { what: '"stopped cleanly" in the log', timeoutMs: 3000 });
      const store = new SqliteStore({ path });
      try {
        assert.equal((await store.jobGet(id))?.status, 'completed', 'the running job finished during the drain');
      } finally {
        await store.close();
      }
    } finally {
      srv.child.kill('SIGKILL');
      dir.remove();
    }
  });
}
