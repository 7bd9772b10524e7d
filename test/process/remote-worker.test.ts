/**
 * Issue #13 with real processes: `jobq serve` on a SQLite file and remote
 * workers (client.runWorker) in their own processes over loopback.
 *   - a remote worker killed with SIGKILL mid-job: its jobs are rescued and
 *     completed by another remote worker;
 *   - the server killed and started again while a worker long-polls and has
 *     jobs running: the worker reconnects, nothing is lost or run twice;
 *   - the worker's token revoked with the CLI (another process): the worker
 *     stops within seconds with a clear error, not at the end of its poll;
 *   - client.waitFor across a server killed and started again: the wait
 *     outlives the server and resolves when the job ends;
 *   - SIGTERM mid-job: the worker stops claiming, a job that finishes within
 *     the grace period is reported, the one that cannot is released (attempt
 *     unspent) and runs elsewhere.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JobqClient } from '../../src/client/index.js';
import { http } from '../helpers/http-server.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePort } from '../helpers/free-port.js';

const WORKER = fileURLToPath(new URL('../fixtures/remote-worker.js', import.meta.url));
const ADMIN = `admin-secret-${'x'.repeat(24)}`;

interface Child {
  proc: ChildProcess;
  lines: string[];
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function watch(proc: ChildProcess): Child {
  const lines: string[] = [];
  let err = '';
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return { proc, lines, err: () => err, exited };
}

const children: ChildProcess[] = [];
function remoteWorker(cfg: Record<string, unknown>): Child {
  const proc = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  return watch(proc);
}

const started = (c: Child) => c.lines.filter((l) => l.includes('"started"')).map((l) => JSON.parse(l) as { started: string; attempt: number; pid: number });

/** `jobq serve` on a fixed port (so a restarted server has the same URL), ready once /healthz answers. */
async function serveOn(port: number, args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const c = watch(proc);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false)) || (proc.exitCode !== null && Promise.reject(new Error(c.err()))), {
    what: 'the server to listen',
    timeoutMs: 15_000,
  });
  return c;
}

/** `jobq serve` on a SQLite file and a fixed port: killed and started again, it answers at the same URL. */
async function restartable(db: string): Promise<{ url: string; start: () => Promise<Child> }> {
  const port = await freePort();
  return { url: `http://127.0.0.1:${port}`, start: () => serveOn(port, ['--sqlite-path', db, '--queues', 'idle']) };
}

async function enqueue(url: string, n: number, payload: unknown, token?: string): Promise<string[]> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await http(url, 'POST', '/v1/jobs', Array.from({ length: n }, () => ({ type: 'work', queue: 'remote', payload })), headers);
  assert.equal(r.status, 201, r.text);
  return r.body.jobs.map((j: { id: string }) => j.id);
}

async function jobsOf(url: string, ids: string[], token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return Promise.all(ids.map(async (id) => (await http(url, 'GET', `/v1/jobs/${id}`, undefined, headers)).body));
}

describe('remote workers as real processes (SQLite file, loopback)', () => {
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('a remote worker killed with SIGKILL mid-job: its jobs are rescued and completed by another', async () => {
    const dir = tempDir();
    let server: ServerProcess | null = null;
    try {
      server = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'idle', '--rescue-interval-ms', '200']);
      children.push(server.child);
      // The first attempt of each job holds for a minute; later attempts finish at once.
      const ids = await enqueue(server.url, 5, { ms: 60_000 });
      const a = remoteWorker({ url: server.url, queues: ['remote'], concurrency: 5, leaseMs: 1500 });
      await waitFor(() => started(a).length === 5, { what: 'worker A to start all five jobs', timeoutMs: 15_000 });
      a.proc.kill('SIGKILL');
      assert.equal((await a.exited).signal, 'SIGKILL');
      const b = remoteWorker({ url: server.url, queues: ['remote'], concurrency: 5, leaseMs: 1500 });
      await waitFor(async () => (await jobsOf(server!.url, ids)).every((j) => j.status === 'completed'), { what: 'the rescued jobs to complete', timeoutMs: 30_000 });
      const pidB = JSON.parse(b.lines.find((l) => l.includes('remoteWorker'))!).pid as number;
      for (const j of await jobsOf(server.url, ids)) {
        assert.deepEqual(j.result, { by: pidB }, 'completed by the second worker');
        assert.equal(j.attempts, 2, 'the killed attempt was spent (the job did start)');
        assert.match(j.errors[0].message, /lease expired/);
      }
      b.proc.kill('SIGTERM');
      assert.equal((await b.exited).code, 0, 'SIGTERM: a graceful stop, exit 0');
    } finally {
      server?.child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('the server killed and restarted while the worker long-polls and runs jobs: it reconnects, nothing lost, nothing run twice', async () => {
    const dir = tempDir();
    const { url, start } = await restartable(dir.file('jobs.db'));
    try {
      let server = await start();
      const w = remoteWorker({ url, queues: ['remote'], concurrency: 10, leaseMs: 20_000, waitMs: 25_000 });
      const first = await enqueue(url, 10, { ms: 0 });
      await waitFor(async () => (await jobsOf(url, first)).every((j) => j.status === 'completed'), { what: 'the first batch', timeoutMs: 15_000 });
      // Five jobs running when the server dies: their outcomes wait in the worker and are reported after the restart.
      const running = await enqueue(url, 5, { ms: 1500 });
      await waitFor(() => started(w).filter((s) => running.includes(s.started)).length === 5, { what: 'the five slow jobs to start', timeoutMs: 15_000 });
      server.proc.kill('SIGKILL');
      await server.exited;
      server = await start();
      const last = await enqueue(url, 10, { ms: 0 });
      const all = [...first, ...running, ...last];
      await waitFor(async () => (await jobsOf(url, all)).every((j) => j.status === 'completed'), { what: 'every job to complete after the restart', timeoutMs: 30_000 });
      for (const j of await jobsOf(url, all)) assert.equal(j.attempts, 1, `job ${j.id} ran once`);
      const runs = started(w).filter((s) => all.includes(s.started));
      assert.equal(runs.length, all.length, 'each job started exactly once in the worker');
      assert.equal(w.proc.exitCode, null, 'the worker is still running');
      assert.match(w.err(), /cannot reach the jobq server/);
      assert.match(w.err(), /reached the jobq server again/);
      w.proc.kill('SIGTERM');
      assert.equal((await w.exited).code, 0);
      server.proc.kill('SIGTERM');
      await server.exited;
    } finally {
      dir.remove();
    }
  });

  it('client.waitFor across a server killed -9 and started again: the wait outlives the server and resolves when the job ends', async () => {
    const dir = tempDir();
    const { url, start } = await restartable(dir.file('jobs.db'));
    try {
      let server = await start();
      const [id] = await enqueue(url, 1, { ms: 0 });
      const client = new JobqClient({ url });
      const waiting = client.waitFor(id!, { timeoutMs: 30_000 });
      let settled = false;
      void waiting.then(() => (settled = true), () => (settled = true));
      // The wait reads the job once its event stream is open: once the server counts that read, the wait is on the stream.
      const jobReads = /^jobq_http_request_duration_seconds_count\{[^}]*route="\/v1\/jobs\/:id"[^}]*\} (\d+)/m;
      await waitFor(async () => Number(jobReads.exec((await http(url, 'GET', '/metrics')).text)?.[1] ?? 0) >= 1, { what: 'the wait to be on the event stream', timeoutMs: 10_000 });
      server.proc.kill('SIGKILL');
      await server.exited;
      server = await start();
      assert.equal(settled, false, 'the wait did not end with the server');
      const w = remoteWorker({ url, queues: ['remote'], concurrency: 1 });
      const job = await waiting;
      assert.equal(job.status, 'completed');
      w.proc.kill('SIGTERM');
      await w.exited;
      server.proc.kill('SIGTERM');
      await server.exited;
    } finally {
      dir.remove();
    }
  });

  it("a worker whose token is revoked (by the CLI, in another process) stops within seconds with a clear error", async () => {
    const dir = tempDir();
    const db = dir.file('jobs.db');
    let server: ServerProcess | null = null;
    try {
      server = await spawnServer(['--sqlite-path', db, '--queues', 'idle'], { env: { JOBQ_ADMIN_TOKEN: ADMIN } });
      children.push(server.child);
      const made = spawnSync(process.execPath, [CLI, 'token', 'create', '--name', 'w1', '--scopes', 'worker', '--queues', 'remote', '--sqlite-path', db], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      const secret = made.stdout.trim();
      assert.match(secret, /^jobq_[A-Za-z0-9_-]{43}$/, 'the secret alone on stdout');
      const w = remoteWorker({ url: server.url, token: secret, queues: ['remote'], waitMs: 25_000 });
      const [id] = await enqueue(server.url, 1, { ms: 0 }, ADMIN);
      await waitFor(async () => (await jobsOf(server!.url, [id!], ADMIN))[0].status === 'completed', { what: 'the worker to work', timeoutMs: 15_000 });
      const t0 = Date.now();
      const revoked = spawnSync(process.execPath, [CLI, 'token', 'revoke', 'w1', '--sqlite-path', db], { encoding: 'utf8' });
      assert.equal(revoked.status, 0, revoked.stderr);
      const exit = await w.exited;
      const ms = Date.now() - t0;
      assert.equal(exit.code, 1);
      assert.ok(ms < 5000, `stopped ${ms} ms after the revocation (its poll would have waited 25 s)`);
      assert.match(w.err(), /remote worker stopped: unauthorized: /);
      assert.match(w.err(), /refused this worker's token \(unauthorized/);
      assert.ok(!w.err().includes(secret) && !server.output().includes(secret), 'the secret is in no log');
    } finally {
      server?.child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('SIGTERM mid-job: it claims nothing more, reports what finishes within the grace period, releases the rest (attempt unspent), exits 0', async () => {
    const dir = tempDir();
    let server: ServerProcess | null = null;
    try {
      server = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'idle']);
      children.push(server.child);
      const a = remoteWorker({ url: server.url, queues: ['remote'], concurrency: 2, graceMs: 4000, waitMs: 25_000 });
      const [quick] = await enqueue(server.url, 1, { ms: 1000 });
      const [stuck] = await enqueue(server.url, 1, { ms: 60_000 });
      await waitFor(() => started(a).length === 2, { what: 'worker A to start both jobs', timeoutMs: 15_000 });
      a.proc.kill('SIGTERM');
      await waitFor(() => a.err().includes('stopping gracefully'), { what: 'worker A to take the signal', timeoutMs: 5000 });
      // Enqueued while it stops: it must not take it (its long poll was given up).
      const [late] = await enqueue(server.url, 1, { ms: 0 });
      const exit = await a.exited;
      assert.equal(exit.code, 0, `a graceful stop exits 0:\n${a.err()}`);
      assert.deepEqual(started(a).map((x) => x.started).sort(), [quick, stuck].sort(), 'nothing claimed after the signal');
      const pidA = JSON.parse(a.lines.find((l) => l.includes('remoteWorker'))!).pid as number;
      const [q, st, l] = await jobsOf(server.url, [quick!, stuck!, late!]);
      assert.deepEqual([q.status, q.result, q.attempts], ['completed', { by: pidA }, 1], 'finished within the grace period and reported');
      assert.deepEqual([st.status, st.attempts, st.errors], ['pending', 0, []], 'released: pending again, its attempt not spent');
      assert.deepEqual([l.status, l.attempts], ['pending', 0]);
      assert.match(a.err(), /released unfinished jobs back to pending/);
      // Another worker takes the released job and the late one at once (no lease to wait out).
      const b = remoteWorker({ url: server.url, queues: ['remote'], concurrency: 2, fast: true });
      await waitFor(async () => (await jobsOf(server!.url, [stuck!, late!])).every((j) => j.status === 'completed'), { what: 'worker B to run them', timeoutMs: 15_000 });
      const pidB = JSON.parse(b.lines.find((l) => l.includes('remoteWorker'))!).pid as number;
      for (const j of await jobsOf(server.url, [stuck!, late!])) assert.deepEqual([j.result, j.attempts], [{ by: pidB }, 1]);
      b.proc.kill('SIGTERM');
      assert.equal((await b.exited).code, 0);
    } finally {
      server?.child.kill('SIGKILL');
      dir.remove();
    }
  });
});
