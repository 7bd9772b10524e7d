/**
 * Issue #7, item 1: one error message Postgres cannot store (U+0000, or a cut
 * that leaves half a surrogate pair) must not sink the finish batch it is in.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { makeBackend, statusCounts } from '../chaos/backends.js';
import { http } from '../helpers/http-server.js';
import { stopSharedCluster } from '../helpers/postgres.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { hasLoneSurrogate } from './support.js';

after(stopSharedCluster);

const NUL_MESSAGE = 'invalid email: bob\u0000x';
const CUT_MESSAGE = 'a'.repeat(8191) + '\u{1F600}'; // a cut at 8,192 chars lands between the two halves of the emoji

for (const backendName of ['postgres', 'sqlite'] as const) {
  it(`${backendName}: 200 succeeding jobs and 4 with unstorable error messages, concurrency 50: the 200 complete, the 4 fail with a stored message`, async () => {
    const b = await makeBackend(backendName);
    // Short leases: today a sunk batch is rescued after its lease and fails (maxAttempts 1) instead of completing.
    const srv = await spawnServer([...b.args, '--handlers', FIXTURE_HANDLERS, '--concurrency', '50', '--lease-ms', '1500', '--rescue-interval-ms', '200', '--queues', 'default']);
    try {
      const jobs: unknown[] = [];
      const bad = new Map<number, string>([
        [10, NUL_MESSAGE],
        [60, CUT_MESSAGE],
        [110, NUL_MESSAGE],
        [160, CUT_MESSAGE],
      ]);
      for (let i = 0; i < 204; i++) {
        const message = bad.get(i);
        jobs.push(message === undefined ? { type: 'noop', maxAttempts: 1 } : { type: 'throwMessage', payload: { message }, maxAttempts: 1 });
      }
      // Paused while enqueueing, so the good and the bad are claimed (and finished) together.
      assert.equal((await http(srv.url, 'POST', '/v1/queues/default/pause')).status, 200);
      const res = await http(srv.url, 'POST', '/v1/jobs', jobs);
      assert.equal(res.status, 201, res.text);
      const ids = (res.body.jobs as { id: string }[]).map((j) => j.id);
      assert.equal((await http(srv.url, 'POST', '/v1/queues/default/resume')).status, 200);

      await waitFor(async () => {
        const c = await statusCounts(b);
        return (c.completed ?? 0) + (c.failed ?? 0) === 204;
      }, { what: 'all 204 jobs finished', timeoutMs: 20_000, intervalMs: 100 }).catch(async (err: Error) => {
        throw new Error(`${err.message}; counts ${JSON.stringify(await statusCounts(b))}; log:\n${srv.output().slice(-2000)}`);
      });

      const good = ids.filter((_, i) => !bad.has(i));
      const views = await Promise.all(ids.map(async (id) => (await http(srv.url, 'GET', `/v1/jobs/${id}`)).body));
      const notCompleted = good.map((id) => views[ids.indexOf(id)]).filter((j) => j.status !== 'completed');
      assert.equal(
        notCompleted.length,
        0,
        `all 200 succeeding jobs completed; ${notCompleted.length} did not, e.g. ${JSON.stringify(notCompleted[0]?.errors?.[0]?.message ?? notCompleted[0]?.status)}`,
      );
      for (const [i, sent] of bad) {
        const j = views[i];
        assert.equal(j.status, 'failed', `bad job ${i} failed`);
        assert.equal(j.errors.length, 1, `bad job ${i} has its one error: ${JSON.stringify(j.errors.map((e: { message: string }) => e.message.slice(0, 60)))}`);
        const msg = j.errors[0].message as string;
        assert.ok(!msg.includes('\u0000'), 'no U+0000 in the stored message');
        assert.ok(!hasLoneSurrogate(msg), 'no lone surrogate in the stored message');
        assert.ok(msg.length <= 8192, `message cut to at most 8,192 chars (${msg.length})`);
        if (sent === NUL_MESSAGE) assert.ok(msg.startsWith('invalid email: bob'), `the message kept its text: ${JSON.stringify(msg)}`);
        else assert.ok(msg.startsWith('a'.repeat(8191)), 'the long message kept everything before the cut');
      }
    } finally {
      srv.child.kill('SIGKILL');
      b.cleanup();
    }
  });
}
