/**
 * Issue #7, item 4: Node's setTimeout takes at most 2^31-1 ms (~24.9 days);
 * longer delays fire after 1 ms. A job may wait (or run) longer than that.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { cpuSeconds, elapse } from './support.js';

const DAY = 24 * 3600 * 1000;

it('a job delayed by 40 days does not make the server spin: < 0.5 s CPU over 3 s, no TimeoutOverflowWarning, still scheduled', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS]);
  try {
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', delayMs: 40 * DAY });
    assert.equal(res.status, 201, res.text);
    const pid = srv.child.pid!;
    const before = cpuSeconds(pid);
    await elapse(3000); // the measurement window
    const used = cpuSeconds(pid) - before;
    console.log(`40-day delay: server CPU over 3 s = ${used.toFixed(2)} s`);
    const warnings = srv.output().match(/TimeoutOverflowWarning/g)?.length ?? 0;
    assert.ok(used < 0.5, `the server used ${used.toFixed(2)} s of CPU in 3 s with nothing to do (${warnings} TimeoutOverflowWarnings)`);
    assert.equal(warnings, 0, `${warnings} TimeoutOverflowWarnings on stderr`);
    assert.equal((await http(srv.url, 'GET', `/v1/jobs/${res.body.id}`)).body.status, 'scheduled');
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

it('a job with timeoutMs of 30 days whose handler takes 200 ms completes (it is not timed out at once)', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS]);
  try {
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'recordSlow', payload: { ms: 200 }, timeoutMs: 30 * DAY, maxAttempts: 1 });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.timeoutMs, 2_592_000_000);
    const job = await waitFor(
      async () => {
        const j = (await http(srv.url, 'GET', `/v1/jobs/${res.body.id}`)).body;
        return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
      },
      { what: 'the job to finish', timeoutMs: 10_000 },
    );
    assert.equal(job.status, 'completed', `ended ${job.status}: ${JSON.stringify(job.errors.map((e: { message: string }) => e.message))}`);
    assert.equal(srv.output().match(/TimeoutOverflowWarning/g)?.length ?? 0, 0, 'no TimeoutOverflowWarning');
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

it('clock: systemClock.setTimer(fn, 40 days) does not fire within 200 ms; setCappedTimeout(fn, 50) fires', async () => {
  // Imported at run time: setCappedTimeout is a new export, and a missing one must fail this test, not the file.
  const clock = (await import('../../src/core/clock.js')) as Record<string, unknown> & typeof import('../../src/core/clock.js');
  let fired = 0;
  const handle = clock.systemClock.setTimer(() => fired++, 40 * DAY);
  await elapse(200); // the window in which it must not fire
  handle.cancel();
  assert.equal(fired, 0, 'a 40-day timer fired within 200 ms');

  const setCappedTimeout = clock['setCappedTimeout'] as ((fn: () => void, ms: number, o?: { unref?: boolean }) => { cancel(): void }) | undefined;
  assert.equal(typeof setCappedTimeout, 'function', 'src/core/clock.ts exports setCappedTimeout');
  let short = 0;
  const t0 = Date.now();
  setCappedTimeout!(() => short++, 50);
  await waitFor(() => short === 1, { what: 'the 50 ms timer', timeoutMs: 2000, intervalMs: 5 });
  assert.ok(Date.now() - t0 >= 45, 'not before its time');
  const long = setCappedTimeout!(() => short++, 40 * DAY, { unref: true });
  await elapse(100);
  long.cancel();
  assert.equal(short, 1, 'a capped 40-day timer did not fire early');
});
