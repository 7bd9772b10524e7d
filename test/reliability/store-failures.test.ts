/**
 * Issue #7, item 11: the truth about store failures. A store that cannot
 * write, a database that times out every statement, a database that is gone:
 * 503 store_unavailable (never 500), /readyz 503 while it lasts, recovery
 * without a restart. A schema newer than the code is refused at start.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { http, startTestServer } from '../helpers/http-server.js';
import { adminQuery, freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { describeRun, runCli, withDatabase } from './support.js';

after(stopSharedCluster);

function assertUnavailable(res: { status: number; body: any; text: string }, what: string) {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
  assert.equal(res.body?.error?.code, 'store_unavailable', `${what}: ${res.text.slice(0, 200)}`);
}

it('sqlite: an enqueue that hits SQLITE_READONLY answers 503 store_unavailable, never 500', async () => {
  const s = await startTestServer({ workers: false });
  try {
    assert.equal((await http(s.url, 'POST', '/v1/jobs', { type: 't' })).status, 201);
    // The store's own connection refuses writes from now on (SQLite answers SQLITE_READONLY).
    const db = (s.jobq.store as unknown as { c?: { db?: Database.Database } }).c?.db;
    assert.ok(db, 'the test reaches the SqliteStore connection (its "c.db" field)');
    db.pragma('query_only = 1');
    for (const path of ['/v1/jobs', '/enqueue']) assertUnavailable(await http(s.url, 'POST', path, { type: 't' }), `POST ${path}`);
    assertUnavailable(await http(s.url, 'POST', '/v1/queues/default/pause'), 'pause');
    assert.equal((await http(s.url, 'GET', '/readyz')).status, 503, 'not ready while the store refuses writes');
    db.pragma('query_only = 0');
    await waitFor(async () => (await http(s.url, 'GET', '/readyz')).status === 200, { what: 'ready again', timeoutMs: 5000, intervalMs: 100 });
    assert.equal((await http(s.url, 'POST', '/v1/jobs', { type: 't' })).status, 201, 'writes work again');
  } finally {
    await s.close();
  }
});

async function dedicatedDatabase(): Promise<{ name: string; url: string; admin: string; drop(): Promise<void> }> {
  const admin = await testDatabaseUrl();
  const name = `t_${randomBytes(5).toString('hex')}`;
  await adminQuery(admin, `CREATE DATABASE ${name}`);
  return { name, url: withDatabase(admin, name), admin, drop: async () => void (await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

/** Ends the node's connections so that new ones pick up a changed database setting. */
async function reconnectNode(admin: string, database: string, pid: number) {
  await adminQuery(admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2`, [database, `jobq/${pid}%`]);
}

it("postgres: statement_timeout = '1ms' on the node's database: requests answer 503 (not 500), /readyz 503; both healthy again after RESET", async () => {
  const db = await dedicatedDatabase();
  const srv = await spawnServer(['--store', 'postgres', '--database-url', db.url, '--queues', 'idle']);
  // Holds a lock on the jobs table so that every statement on it outlasts 1 ms.
  const locker = new pg.Client({ connectionString: db.url });
  await locker.connect();
  try {
    assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' })).status, 201);
    assert.equal((await http(srv.url, 'GET', '/readyz')).status, 200);
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE jobq.jobs IN ACCESS EXCLUSIVE MODE');
    await adminQuery(db.admin, `ALTER DATABASE ${db.name} SET statement_timeout = '1ms'`);
    await reconnectNode(db.admin, db.name, srv.child.pid!);

    assertUnavailable(await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' }), 'enqueue');
    assertUnavailable(await http(srv.url, 'GET', '/v1/jobs?limit=1'), 'list');
    assertUnavailable(await http(srv.url, 'GET', '/v1/queues'), 'queues');
    await waitFor(async () => (await http(srv.url, 'GET', '/readyz')).status === 503, { what: '/readyz 503 while statements time out', timeoutMs: 5000, intervalMs: 100 });

    await adminQuery(db.admin, `ALTER DATABASE ${db.name} RESET statement_timeout`);
    await locker.query('COMMIT');
    await reconnectNode(db.admin, db.name, srv.child.pid!);
    await waitFor(async () => (await http(srv.url, 'GET', '/readyz')).status === 200, { what: '/readyz 200 again', timeoutMs: 10_000, intervalMs: 100 });
    await waitFor(async () => (await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' })).status === 201, { what: 'enqueue 201 again', timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(srv.child.exitCode, null, 'the node kept running');
  } finally {
    await locker.end().catch(() => {});
    srv.child.kill('SIGKILL');
    await srv.exited;
    await db.drop();
  }
});

it('postgres: the database dropped (WITH FORCE) and created again: 503 while gone, then the node recovers without a restart', async () => {
  const db = await dedicatedDatabase();
  const srv = await spawnServer(['--store', 'postgres', '--database-url', db.url, '--queues', 'idle']);
  try {
    assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' })).status, 201);
    await adminQuery(db.admin, `DROP DATABASE ${db.name} WITH (FORCE)`);
    for (let i = 0; i < 2; i++) assertUnavailable(await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' }), `enqueue ${i + 1} while the database is gone`);
    assertUnavailable(await http(srv.url, 'GET', '/v1/jobs/01a220d3-7e06-778c-9a6a-4e00307d52cc'), 'get while gone');
    await waitFor(async () => (await http(srv.url, 'GET', '/readyz')).status === 503, { what: '/readyz 503 while the database is gone', timeoutMs: 5000, intervalMs: 100 });
    await adminQuery(db.admin, `CREATE DATABASE ${db.name}`);
    let id = '';
    await waitFor(
      async () => {
        const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle' });
        if (res.status === 201) id = res.body.id;
        return res.status === 201;
      },
      { what: 'enqueue 201 after the database is back', timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal((await http(srv.url, 'GET', `/v1/jobs/${id}`)).status, 200);
    await waitFor(async () => (await http(srv.url, 'GET', '/readyz')).status === 200, { what: '/readyz 200 again', timeoutMs: 10_000 });
    assert.equal(srv.child.exitCode, null, 'the node kept running');
  } finally {
    srv.child.kill('SIGKILL');
    await srv.exited;
    await db.drop();
  }
});

it('sqlite: a schema newer than the code (jobq_migrations version 999) is refused at start: exit 2, one line naming the schema version', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  try {
    await new SqliteStore({ path }).close();
    const Sqlite = (await import('better-sqlite3')).default;
    const raw = new Sqlite(path);
    raw.prepare('INSERT INTO jobq_migrations (version, name, applied_at) VALUES (999, ?, ?)').run('from the future', Date.now());
    raw.close();
    const r = await runCli(['--sqlite-path', path]);
    assert.equal(r.listened, false, describeRun(r));
    assert.equal(r.code, 2, describeRun(r));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr.slice(0, 500))}`);
    assert.match(lines[0]!, /schema/i);
    assert.match(lines[0]!, /999/);
  } finally {
    dir.remove();
  }
});

it('postgres: a schema newer than the code (<schema>.jobq_migrations version 999) is refused at start: exit 2, one line naming the schema version', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  await (await PostgresStore.open({ connectionString: url, schema, listen: false })).close();
  await adminQuery(url, `INSERT INTO "${schema}".jobq_migrations (version, name) VALUES (999, 'from the future')`);
  const r = await runCli(['--store', 'postgres', '--database-url', url, '--pg-schema', schema]);
  assert.equal(r.listened, false, describeRun(r));
  assert.equal(r.code, 2, describeRun(r));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr.slice(0, 500))}`);
  assert.match(lines[0]!, /schema/i);
  assert.match(lines[0]!, /999/);
});
