/**
 * Issue #13: examples/python-worker/worker.py (standard library only) against
 * a live `jobq serve` with auth on: it completes a job, retries one and
 * fails one for good, and stops on SIGTERM. python3 is on the CI machine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { http } from '../helpers/http-server.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const WORKER = fileURLToPath(new URL('../../../examples/python-worker/worker.py', import.meta.url));
const ADMIN = `py-admin-${'k'.repeat(24)}`;
const auth = { authorization: `Bearer ${ADMIN}` };

describe('the Python worker example (python3, standard library only)', () => {
  const dir = tempDir();
  let server: ServerProcess | null = null;
  after(() => {
    server?.child.kill('SIGKILL');
    dir.remove();
  });

  it('is under 150 lines and imports only the standard library', () => {
    const src = readFileSync(WORKER, 'utf8');
    assert.ok(src.split('\n').length < 150, `${src.split('\n').length} lines`);
    const imports = [...src.matchAll(/^(?:import|from) ([\w.]+)/gm)].map((m) => m[1]!.split('.')[0]);
    const stdlib = ['json', 'os', 'signal', 'sys', 'threading', 'time', 'traceback', 'urllib'];
    assert.deepEqual(imports.filter((i) => !stdlib.includes(i!)), []);
  });

  it('completes jobs, retries one, fails one for good, and stops on SIGTERM', async () => {
    const db = dir.file('jobs.db');
    server = await spawnServer(['--sqlite-path', db, '--queues', 'idle'], { env: { JOBQ_ADMIN_TOKEN: ADMIN } });
    const made = spawnSync(process.execPath, [CLI, 'token', 'create', '--name', 'py', '--scopes', 'worker', '--queues', 'py', '--sqlite-path', db], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const py = spawn('python3', [WORKER], { env: { ...process.env, JOBQ_URL: server.url, JOBQ_TOKEN: made.stdout.trim(), JOBQ_QUEUE: 'py' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => py.on('exit', (code) => r(code)));
    try {
      const enqueue = async (type: string, payload: unknown) => (await http(server!.url, 'POST', '/v1/jobs', { type, queue: 'py', payload, maxAttempts: 3 }, auth)).body.id as string;
      const add = await enqueue('add', { a: 2, b: 3 });
      const flaky = await enqueue('flaky', null);
      const doomed = await enqueue('doomed', null);
      const get = async (id: string) => (await http(server!.url, 'GET', `/v1/jobs/${id}`, undefined, auth)).body;
      await waitFor(async () => (await Promise.all([add, flaky, doomed].map(get))).every((j) => ['completed', 'failed'].includes(j.status)), {
        what: `the Python worker to finish three jobs; its output:\n${out}`,
        timeoutMs: 30_000,
      });
      const [a, f, d] = await Promise.all([add, flaky, doomed].map(get));
      assert.deepEqual([a.status, a.result, a.attempts], ['completed', { sum: 5 }, 1]);
      assert.deepEqual([f.status, f.result, f.attempts], ['completed', 'ok on attempt 2', 2], 'retried once, then completed');
      assert.equal(f.errors[0].message, 'flaky: failing attempt 1');
      assert.match(f.errors[0].stack, /Traceback \(most recent call last\):[\s\S]*RuntimeError: flaky: failing attempt 1/, "the Python traceback is kept as the attempt's stack");
      assert.deepEqual([d.status, d.attempts, d.errors.map((e: { message: string }) => e.message)], ['failed', 1, ['doomed: bad input']], 'failed for good, attempts left unused');
      py.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      py.kill('SIGKILL');
    }
  });
});
