/**
 * Issue #7, item 10: a job's errors[] is bounded: at most 20 entries, the
 * first error ever and the 19 most recent.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

it('a job that always fails (maxAttempts 1), manually retried 30 times, keeps 20 errors: run 1 and runs 13..31', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS]);
  try {
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'throwCounting', maxAttempts: 1 });
    assert.equal(res.status, 201);
    const id = res.body.id as string;
    // throwCounting fails with "run N"; wait for each run's failure before retrying.
    const failedRun = (n: number) =>
      waitFor(
        async () => {
          const j = (await http(srv.url, 'GET', `/v1/jobs/${id}`)).body;
          return j.status === 'failed' && j.errors.at(-1)?.message === `run ${n}` ? j : null;
        },
        { what: `run ${n} to fail`, timeoutMs: 5000, intervalMs: 5 },
      );
    let job = await failedRun(1);
    for (let n = 2; n <= 31; n++) {
      const r = await http(srv.url, 'POST', `/v1/jobs/${id}/retry`);
      assert.equal(r.status, 200, r.text);
      job = await failedRun(n);
    }
    const messages = (job.errors as { message: string; attempt: number }[]).map((e) => e.message);
    console.log(`error history after 31 runs: ${messages.length} entries`);
    assert.ok(messages.length <= 20, `at most 20 errors kept, got ${messages.length}`);
    assert.equal(messages.length, 20, 'exactly 20 after 31 failures');
    assert.equal(messages[0], 'run 1', 'the first error is kept');
    assert.deepEqual(messages.slice(1), Array.from({ length: 19 }, (_, i) => `run ${13 + i}`), 'then the 19 most recent, oldest first');
    assert.equal(job.errors[0].attempt, 1);
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});
