/**
 * `jobq serve --http-processes 2` (issue #15): two HTTP processes share the
 * port, each committing its own enqueues to the one SQLite file, while the
 * primary runs the workers. Every acknowledged enqueue is stored once and
 * run; both processes serve; /metrics answers for the whole server from
 * either; SIGTERM drains them all (exit 0, no process
 * left); a primary killed -9 takes its HTTP processes with it.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { describe, it } from 'node:test';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { http } from '../helpers/http-server.js';

function post(agent: Agent, url: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: u.hostname, port: u.port, path, method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body || undefined);
  });
}

/** Established TCP connections on local `port` held by process `pid`: its socket descriptors matched against /proc/net/tcp and tcp6. */
function connectionsHeld(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let held = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (parseInt(local!.split(':')[1]!, 16) === port && state === '01' && inodes.has(inode!)) held++;
    }
  }
  return held;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function start(dir: ReturnType<typeof tempDir>) {
  const srv = await spawnServer(['--store', 'sqlite', '--sqlite-path', dir.file('jobs.db'), '--http-processes', '2', '--concurrency', '20', '--log-level', 'info']);
  const m = /"httpProcesses":\[(\d+),(\d+)\]/.exec(srv.output());
  assert.ok(m, `the primary names its HTTP processes:\n${srv.output()}`);
  return { srv, pids: [Number(m[1]), Number(m[2])] };
}

describe('jobq serve --http-processes 2 (real processes)', () => {
  it('every acknowledged enqueue is stored once and run; both processes serve; SIGTERM drains all and exits 0', async () => {
    const dir = tempDir();
    const { srv, pids } = await start(dir);
    try {
      assert.ok(pids.every(alive) && !pids.includes(srv.child.pid!), 'two HTTP processes besides the primary');
      const agent = new Agent({ keepAlive: true, maxSockets: 40 });
      const n = 400;
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => post(agent, srv.url, '/enqueue', JSON.stringify({ type: 'demo', payload: { ms: 0, i } }))));
      // The client's keep-alive connections are still open: fresh connections went to the processes in turn.
      const port = Number(new URL(srv.url).port);
      const held = pids.map((pid) => connectionsHeld(pid, port));
      assert.ok(held.every((c) => c > 0), `both HTTP processes hold connections of the client: ${held}`);
      agent.destroy();
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      const ids = answers.map((a) => (JSON.parse(a.text) as { id: string }).id);
      assert.equal(new Set(ids).size, n, 'every answer names its own job');
      await waitFor(async () => (await http(srv.url, 'GET', '/v1/queues')).body.queues.find((q: { name: string }) => q.name === 'default')?.counts.completed === n, {
        timeoutMs: 20_000,
        what: 'every job completed by the primary’s workers',
      });
      // Whichever process a scrape reaches answers for the whole server: both HTTP processes' requests, the primary's workers.
      for (let i = 0; i < 4; i++) {
        const fresh = new Agent({ keepAlive: false });
        const text = (await post(fresh, srv.url, '/metrics', '', { connection: 'close' })).text;
        fresh.destroy();
        const value = (series: RegExp) => Number(series.exec(text)?.[1] ?? NaN);
        assert.equal(value(/jobq_http_request_duration_seconds_count\{[^}]*route="\/enqueue"[^}]*\} (\d+)/), n, `scrape ${i}: the enqueues both processes served`);
        assert.equal(value(/jobq_jobs_enqueued_total\{queue="default",type="demo"\} (\d+)/), n, `scrape ${i}: enqueued`);
        assert.equal(value(/jobq_jobs_completed_total\{queue="default",type="demo"\} (\d+)/), n, `scrape ${i}: completed by the primary's workers`);
        assert.equal(value(/jobq_queue_depth\{queue="default",status="completed"\} (\d+)/), n, `scrape ${i}: the cluster-wide depth, not once per process`);
      }

      // With the primary stopped (SIGSTOP), a scrape on an open connection gets a clear 504, never part of the numbers.
      const held1 = new Agent({ keepAlive: true, maxSockets: 1 });
      assert.equal((await post(held1, srv.url, '/healthz', '')).status, 200);
      srv.child.kill('SIGSTOP');
      let stalled: { status: number; text: string };
      try {
        stalled = await post(held1, srv.url, '/metrics', '');
      } finally {
        srv.child.kill('SIGCONT');
        held1.destroy();
      }
      assert.equal(stalled.status, 504, stalled.text);
      assert.equal((JSON.parse(stalled.text) as { error: { code: string } }).error.code, 'timeout');

      srv.child.kill('SIGTERM');
      const { code } = await srv.exited;
      assert.equal(code, 0, srv.output());
      await waitFor(async () => !pids.some(alive), { timeoutMs: 5_000, what: 'the HTTP processes gone' });
    } finally {
      srv.child.kill('SIGKILL');
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      dir.remove();
    }
  });

  it('a primary killed -9 takes its HTTP processes with it (they drain and exit on their own)', async () => {
    const dir = tempDir();
    const { srv, pids } = await start(dir);
    try {
      srv.child.kill('SIGKILL');
      await srv.exited;
      await waitFor(async () => !pids.some(alive), { timeoutMs: 10_000, what: 'the orphaned HTTP processes to exit' });
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      dir.remove();
    }
  });

  it('the memory store is refused with more than one HTTP process (exit 2, one line naming the flag)', async () => {
    await assert.rejects(spawnServer(['--store', 'memory', '--http-processes', '2']), /exited with 2[\s\S]*--http-processes \(JOBQ_HTTP_PROCESSES\)[\s\S]*memory store lives in one process/);
  });
});
