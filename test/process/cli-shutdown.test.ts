/**
 * Issue #9, item 2: shutdown never hangs, whatever happens to stdout.
 * The old logger (pino's synchronous stdout) spun in Atomics.wait on EAGAIN
 * once the parent stopped reading, so the process never handled SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { CLI } from '../helpers/spawn-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { spawnWithStalledStdout, type StalledServer } from '../cli/support/stalled-stdout.js';
import { freePort } from '../helpers/free-port.js';

const PARENT = fileURLToPath(new URL('../cli/support/spawn-sync-parent.js', import.meta.url));
const PIPE_FULL_BYTES = 60 * 1024;

/** `p`, or a rejection with `message` after `ms` (the timer is cleared either way). */
async function within<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const quickJobs = (n: number) => Array.from({ length: n }, () => ({ type: 'demo', payload: { ms: 0 } }));

/** Enough debug lines to fill the pipe many times over, and one job that outlives any grace period. */
async function logHeavily(srv: StalledServer): Promise<string> {
  for (let i = 0; i < 3; i++) assert.equal((await http(srv.url, 'POST', '/v1/jobs', quickJobs(1000))).status, 201);
  await waitFor(async () => (await http(srv.url, 'GET', '/v1/queues')).body.queues[0]?.counts.completed === 3000, {
    timeoutMs: 30_000,
    what: '3,000 jobs completed while nobody reads stdout',
  });
  const long = await http(srv.url, 'POST', '/v1/jobs', { type: 'demo', payload: { ms: 600_000 } });
  await waitFor(async () => (await http(srv.url, 'GET', `/v1/jobs/${long.body.id}`)).body.status === 'processing', { what: 'the long job to start' });
  return long.body.id as string;
}

describe('shutdown with a stdout nobody reads (real process)', () => {
  it('SIGTERM: exits 0 within the grace period', async () => {
    const graceMs = 2000;
    const srv = await spawnWithStalledStdout(['--store', 'memory', '--log-level', 'debug', '--concurrency', '20', '--shutdown-timeout-ms', String(graceMs)]);
    try {
      await logHeavily(srv);
      const t0 = Date.now();
      srv.child.kill('SIGTERM');
      const { code, atMs } = await within(srv.exited, 15_000, () => `no exit 15 s after SIGTERM:\n${srv.stderr()}`);
      assert.equal(code, 0, srv.stderr());
      assert.ok(atMs - t0 < graceMs + 3000, `exited ${atMs - t0} ms after SIGTERM; grace ${graceMs} ms`);
      assert.ok(atMs - t0 >= graceMs - 100, 'the long job was given its grace period');
      assert.ok(srv.unreadBytes() >= PIPE_FULL_BYTES, 'the pipe was full: nobody read it');
    } finally {
      srv.cleanup();
    }
  });

  it('a second signal exits at once with 130', async () => {
    const srv = await spawnWithStalledStdout(['--store', 'memory', '--log-level', 'debug', '--concurrency', '20', '--shutdown-timeout-ms', '600000']);
    try {
      await logHeavily(srv);
      srv.child.kill('SIGTERM');
      await waitFor(() => srv.stderr().includes('draining'), { what: 'the drain to begin' });
      const t0 = Date.now();
      srv.child.kill('SIGINT');
      const { code, atMs } = await within(srv.exited, 10_000, () => `no exit 10 s after the second signal:\n${srv.stderr()}`);
      assert.equal(code, 130, srv.stderr());
      assert.ok(atMs - t0 < 2000, `exited ${atMs - t0} ms after the second signal`);
      assert.match(srv.stderr(), /second SIGINT: exiting now/);
      assert.ok(srv.unreadBytes() >= PIPE_FULL_BYTES, 'the pipe was full: nobody read it');
    } finally {
      srv.cleanup();
    }
  });

  it("the report's parent: spawnSync(…, { timeout: 5000 }) returns soon after its timeout", async () => {
    const port = await freePort();
    // detached: the parent leads a process group, so a hung jobq under it can be killed with it.
    const parent = spawn(process.execPath, [PARENT, CLI, String(port), '5000'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((resolve) => parent.on('exit', () => resolve()));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, { timeoutMs: 15_000, what: 'jobq under spawnSync to listen' });
      // Keep it busy logging until the timeout's SIGTERM stops it taking requests.
      for (let i = 0; i < 40; i++) {
        const res = await http(url, 'POST', '/v1/jobs', quickJobs(200)).catch(() => null);
        if (!res || res.status !== 201) break;
      }
      await within(done, 20_000, () => 'spawnSync never returned: jobq ignored SIGTERM');
      const r = JSON.parse(out) as { elapsedMs: number; status: number | null; error: string | null };
      assert.ok(r.error === 'ETIMEDOUT' || r.error === 'ENOBUFS', `spawnSync stopped reading and sent SIGTERM (${r.error})`);
      assert.equal(r.status, 0, 'jobq drained and exited 0');
      assert.ok(r.elapsedMs < 5000 + 5000, `returned after ${r.elapsedMs} ms`);
    } finally {
      try {
        process.kill(-parent.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
