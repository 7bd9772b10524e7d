/**
 * `jobq serve --http-processes 2` (issue #15): two HTTP processes share the
 * port, each committing its own enqueues to the one SQLite file, while the
 * primary runs the workers. Every acknowledged enqueue is stored once and
 * run; both processes serve; SIGTERM drains them all (exit 0, no process
 * left); a primary killed -9 takes its HTTP processes with it.
 */
import assert from 'node:assert/strict';
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
      agent.destroy();
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      const ids = answers.map((a) => (JSON.parse(a.text) as { id: string }).id);
      assert.equal(new Set(ids).size, n, 'every answer names its own job');
      await waitFor(async () => (await http(srv.url, 'GET', '/v1/queues')).body.queues.find((q: { name: string }) => q.name === 'default')?.counts.completed === n, {
        timeoutMs: 20_000,
        what: 'every job completed by the primary’s workers',
      });
      // Each process counts the requests it served; fresh connections go to the processes in turn.
      const counts = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const fresh = new Agent({ keepAlive: false });
        const text = (await post(fresh, srv.url, '/metrics', '', { connection: 'close' })).text;
        fresh.destroy();
        const c = /jobq_http_request_duration_seconds_count\{[^}]*route="\/enqueue"[^}]*\} (\d+)/.exec(text);
        counts.add(c ? Number(c[1]) : 0);
      }
      assert.equal(counts.size, 2, `two processes answered /metrics with their own counts: ${[...counts]}`);
      assert.equal([...counts].reduce((a, b) => a + b, 0), n, 'the two processes served every enqueue between them');
      assert.ok([...counts].every((c) => c > 0), 'both processes served enqueues');

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
