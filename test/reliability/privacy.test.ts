/**
 * Issue #7, item 14: privacy. New SQLite files are private (0600); a 503
 * never tells the client where the database lives; the log never carries a
 * payload when Postgres rejects a statement.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { Agent } from 'node:http';
import { after, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { makeBackend } from '../chaos/backends.js';
import { http } from '../helpers/http-server.js';
import { adminQuery, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { agentRequest, exhaustConnections, rawRequest, spawnWithFdLimit } from './support.js';

after(stopSharedCluster);

it('a new SQLite database file, its -wal and its -shm are created with mode 0600', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const srv = await spawnServer(['--sqlite-path', path, '--queues', 'idle']);
  try {
    assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' })).status, 201);
    const modes = Object.fromEntries(['', '-wal', '-shm'].map((suffix) => [`jobs.db${suffix}`, (statSync(path + suffix).mode & 0o777).toString(8)]));
    assert.deepEqual(modes, { 'jobs.db': '600', 'jobs.db-wal': '600', 'jobs.db-shm': '600' });
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

it("a 503 never contains the server's file path (out of file descriptors; file locked past the busy timeout)", async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const answers503: string[] = [];
  // 1. Out of descriptors: the WAL cannot be opened for its fsync.
  const srv = await spawnWithFdLimit(48, ['--sqlite-path', path, '--queues', 'idle']);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const { held } = await exhaustConnections(agent, srv.url, 64);
    const answers = await Promise.all(Array.from({ length: held }, () => agentRequest(agent, srv.url, 'POST', '/v1/jobs', JSON.stringify({ type: 'noop', queue: 'idle' }))));
    answers503.push(...answers.filter((a) => a.status === 503).map((a) => a.body));
  } finally {
    agent.destroy();
    srv.child.kill('SIGKILL');
    await srv.exited;
  }
  // 2. Another process holds the write lock longer than the 5 s busy timeout.
  const srv2 = await spawnServer(['--sqlite-path', path, '--queues', 'idle']);
  const locker = spawn(
    process.execPath,
    ['-e', `const D = require(${JSON.stringify(new URL(import.meta.resolve('better-sqlite3')).pathname)}); const db = new D(${JSON.stringify(path)}); db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n'); setTimeout(() => {}, 60000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      locker.stdout.once('data', () => resolve());
      locker.once('exit', () => reject(new Error('the locking process exited before taking the lock')));
    });
    const port = Number(new URL(srv2.url).port);
    const body = JSON.stringify({ type: 'noop', queue: 'idle' });
    const res = await rawRequest(port, `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, { timeoutMs: 15_000 });
    assert.equal(res.status, 503, res.body.slice(0, 200));
    answers503.push(res.head + '\r\n\r\n' + res.body);
  } finally {
    locker.kill('SIGKILL');
    srv2.child.kill('SIGKILL');
    await srv2.exited;
  }
  console.log(`privacy: ${answers503.length} answers with 503 checked`);
  assert.ok(answers503.length > 0);
  const leaking = answers503.filter((b) => b.includes(dir.path) || b.includes('jobs.db'));
  dir.remove();
  assert.deepEqual(leaking, [], 'no 503 names the database file');
});

it('postgres: when Postgres rejects an enqueue, the log does not contain the payload', async () => {
  const b = await makeBackend('postgres');
  const schema = b.args[b.args.indexOf('--pg-schema') + 1]!;
  const srv = await spawnServer([...b.args, '--queues', 'idle', '--log-level', 'info']);
  try {
    const marker = `SECRET-${randomBytes(6).toString('hex')}`;
    // A constraint an operator added: Postgres refuses the row, and its error DETAIL quotes the failing row (payload included).
    await adminQuery(await testDatabaseUrl(), `ALTER TABLE "${schema}".jobs ADD CONSTRAINT no_secrets CHECK (payload::text NOT LIKE '%SECRET-%')`);
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle', payload: { card: marker } });
    console.log(`privacy: the enqueue Postgres refused got ${res.status} ${res.text.slice(0, 120)}`);
    assert.notEqual(res.status, 201, 'Postgres refused the row');
    assert.ok(!res.text.includes(marker), 'the answer does not echo the payload');
    // Stop it gracefully: once "stopped cleanly" arrived, everything it logged before has arrived too.
    srv.child.kill('SIGTERM');
    await waitFor(() => srv.output().includes('stopped cleanly'), { what: 'the node to stop cleanly', timeoutMs: 10_000 });
    const leaked = srv.output().split('\n').filter((l) => l.includes(marker));
    assert.deepEqual(leaked.map((l) => l.slice(0, 300)), [], 'the log holds the payload');
  } finally {
    srv.child.kill('SIGKILL');
  }
});
