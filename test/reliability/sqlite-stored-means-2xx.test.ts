/**
 * Issue #7, item 3: on SQLite a 503 must mean nothing was stored. A path that
 * can hold no durable file is refused at start; when the process runs out of
 * file descriptors, every enqueue answer says the truth about the job.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { agentRequest, describeRun, exhaustConnections, runCli, spawnWithFdLimit } from './support.js';

for (const path of [':memory:', '']) {
  it(`--sqlite-path ${JSON.stringify(path)} is refused at start: exit 2, one line on stderr naming --sqlite-path (JOBQ_SQLITE_PATH)`, async () => {
    const dir = tempDir();
    try {
      const r = await runCli(['--sqlite-path', path], { cwd: dir.path });
      assert.equal(r.listened, false, describeRun(r));
      assert.equal(r.code, 2, describeRun(r));
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
      assert.match(lines[0]!, /--sqlite-path \(JOBQ_SQLITE_PATH\)/);
    } finally {
      dir.remove();
    }
  });
}

it('JOBQ_SQLITE_PATH=:memory: is refused the same way', async () => {
  const dir = tempDir();
  const r = await runCli([], { env: { JOBQ_SQLITE_PATH: ':memory:' }, cwd: dir.path });
  dir.remove();
  assert.equal(r.listened, false, describeRun(r));
  assert.equal(r.code, 2, describeRun(r));
  assert.match(r.stderr, /--sqlite-path \(JOBQ_SQLITE_PATH\)/);
});

it('out of file descriptors (ulimit -n 48, connections held open): every enqueue answer is 2xx exactly when the job was stored', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const srv = await spawnWithFdLimit(48, ['--sqlite-path', path, '--queues', 'idle']);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const { held, failed } = await exhaustConnections(agent, srv.url, 64);
    console.log(`fd exhaustion: ${held} connections held, ${failed} refused`);
    assert.ok(held > 0 && failed > 0, `the server ran out of descriptors (${held} held, ${failed} refused)`);
    // One enqueue per held connection, each with its own job type as its marker, all at once.
    const markers = Array.from({ length: held }, (_, i) => `fd-${i}`);
    const answers = await Promise.all(markers.map((m) => agentRequest(agent, srv.url, 'POST', '/v1/jobs', JSON.stringify({ type: m, queue: 'idle' }))));
    // Read back once the descriptors are free again: through the API of a fresh server on the same file.
    agent.destroy();
    srv.child.kill('SIGKILL');
    await srv.exited;
    const reader = await spawnServer(['--sqlite-path', path, '--queues', 'none']);
    let stored: Set<string>;
    try {
      const page = await http(reader.url, 'GET', '/v1/jobs?queue=idle&limit=500');
      assert.equal(page.status, 200, page.text.slice(0, 200));
      stored = new Set(page.body.jobs.map((j: { type: string }) => j.type));
    } finally {
      reader.child.kill('SIGKILL');
    }
    const wrong: string[] = [];
    const tally = new Map<string, number>();
    markers.forEach((m, i) => {
      const a = answers[i]!;
      const key = a.status === null ? `no answer (${a.error})` : String(a.status);
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (a.status === null) return; // no answer at all: the client cannot conclude anything, nor can we
      const ok = a.status >= 200 && a.status < 300;
      if (ok !== stored.has(m)) wrong.push(`${m}: answered ${a.status} ${a.body.slice(0, 120)} but ${stored.has(m) ? 'stored' : 'not stored'}`);
    });
    console.log(`fd exhaustion: answers ${JSON.stringify(Object.fromEntries(tally))}; stored ${stored.size}`);
    assert.ok(answers.some((a) => a.status !== null), 'some enqueues got an answer');
    assert.deepEqual(wrong, [], '2xx ⇔ stored');
  } finally {
    agent.destroy();
    srv.child.kill('SIGKILL');
    await srv.exited;
    dir.remove();
  }
});
