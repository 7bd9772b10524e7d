/** Faults of the database itself: Postgres backends terminated under load; a SQLite file locked by another process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { http } from '../helpers/http-server.js';
import { stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { makeBackend, missing, report, statusCounts } from './backends.js';

after(stopSharedCluster);

it('postgres: every connection of a node killed with pg_terminate_backend, listener included: it recovers, loses nothing, wakes up promptly again', async () => {
  const b = await makeBackend('postgres');
  // A long poll interval: a prompt wake-up afterwards proves LISTEN came back.
  const node = await spawnServer([...b.args, '--handlers', FIXTURE_HANDLERS, '--concurrency', '10', '--lease-ms', '1500', '--rescue-interval-ms', '200', '--poll-interval-ms', '10000']);
  const admin = new pg.Client({ connectionString: await testDatabaseUrl() });
  await admin.connect();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await http(node.url, 'POST', '/v1/jobs', Array.from({ length: 500 }, () => ({ type: 'recordSlow', payload: { ms: 2 } })));
      ids.push(...(res.body.jobs as { id: string }[]).map((j) => j.id));
    }
    await waitFor(async () => ((await statusCounts(b)).completed ?? 0) >= 500, { what: '500 completed', timeoutMs: 30_000 });
    const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`, [`jobq/${node.child.pid}%`]);
    assert.ok(killed.rowCount! >= 2, `terminated ${killed.rowCount} connections, the listener among them`);
    await waitFor(async () => (await statusCounts(b)).completed === 3000, { what: 'all 3,000 completed', timeoutMs: 60_000, intervalMs: 200 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; counts ${JSON.stringify(await statusCounts(b))}; node log:\n${node.output().slice(-3000)}`);
    });
    await waitFor(async () => ((await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [`jobq/${node.child.pid}/listen`])).rowCount ?? 0) > 0, {
      what: 'the listener to reconnect',
    });
    const t0 = Date.now();
    const probe = await http(node.url, 'POST', '/v1/jobs', { type: 'noop' });
    await waitFor(async () => (await http(node.url, 'GET', `/v1/jobs/${probe.body.id}`)).body.status === 'completed', { what: 'the probe job', timeoutMs: 5000 });
    const wakeMs = Date.now() - t0;
    const lost = await missing(b, ids);
    report('pg_terminate_backend of every connection', 'postgres', { runs: 1, acknowledged: ids.length, lost, duplicated: 0, stuck: (await statusCounts(b)).processing ?? 0 });
    console.log(`chaos | wake-up after the listener was killed: ${wakeMs} ms (poll interval 10,000 ms)`);
    assert.equal(lost, 0);
    assert.ok(wakeMs < 2000, `woken by NOTIFY again, not by the 10 s poll (${wakeMs} ms)`);
    assert.equal(node.child.exitCode, null, 'the node is still running');
  } finally {
    await admin.end();
    node.child.kill('SIGKILL');
  }
});

it('sqlite: the file write-locked by another process for 3 s: enqueues wait or get 503, none acknowledged is lost, the file stays sound', async () => {
  const b = await makeBackend('sqlite');
  const path = b.args[1]!;
  const node = await spawnServer([...b.args, '--queues', 'idle']);
  try {
    assert.equal((await http(node.url, 'POST', '/v1/jobs', { type: 'noop' })).status, 201); // file and schema exist
    // Another process takes the write lock and holds it.
    const locker = spawn(process.execPath, ['-e', `
      const D = require(${JSON.stringify(require_resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 3000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lockerExited = new Promise((r) => locker.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      locker.stdout.once('data', () => resolve());
      void lockerExited.then(() => reject(new Error('the locking process exited before taking the lock')));
    });
    const results = await Promise.all(Array.from({ length: 40 }, () => http(node.url, 'POST', '/v1/jobs', { type: 'noop' })));
    await lockerExited;
    const statuses = results.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 201 || s === 503), `only 201 or 503: ${[...new Set(statuses)]}`);
    const acked = results.filter((r) => r.status === 201).map((r) => r.body.id as string);
    const lost = await missing(b, acked);
    const db = new Database(path, { readonly: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    report('sqlite file locked by another process for 3 s', 'sqlite', { runs: 1, acknowledged: acked.length, lost, duplicated: 0, stuck: 0 });
    assert.equal(lost, 0);
    assert.equal(integrity, 'ok');
    assert.equal((await http(node.url, 'POST', '/v1/jobs', { type: 'noop' })).status, 201, 'serving again once the lock is gone');
  } finally {
    node.child.kill('SIGKILL');
    b.cleanup();
  }
});

function require_resolve(name: string): string {
  return new URL(import.meta.resolve(name)).pathname;
}
