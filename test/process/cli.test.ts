/** The client commands against a real server: jobq enqueue, then jobq status --wait. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { CLI, spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);

it('jobq enqueue and jobq status --wait drive a running server', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db')]);
  try {
    const enq = await run(process.execPath, [CLI, 'enqueue', '--url', srv.url, '--type', 'demo', '--payload', '{"ms":20}', '--priority', '2', '--json']);
    const job = JSON.parse(enq.stdout) as { id: string; status: string; priority: number };
    assert.equal(job.priority, 2);
    const st = await run(process.execPath, [CLI, 'status', job.id, '--url', srv.url, '--wait', '--json']);
    const done = JSON.parse(st.stdout) as { status: string; result: unknown };
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.result, { sleptMs: 20 });
    await assert.rejects(run(process.execPath, [CLI, 'enqueue', '--url', srv.url, '--type', 'bad type']), (e: { stderr: string; code: number }) => {
      assert.match(e.stderr, /invalid_request/);
      assert.equal(e.code, 1);
      return true;
    });
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});
