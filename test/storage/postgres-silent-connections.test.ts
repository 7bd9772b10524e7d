/**
 * A statement on a connection that goes silent is not waited for forever
 * (storage/postgres/silent-connections.ts), against a real server: the
 * connection is dropped and the statement fails as transient; a connection
 * resting in the pool is left alone however long; and through the store, an
 * enqueue stuck behind a server that answers nothing completes once it
 * answers again, stored once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { Jobq } from '../../src/core/jobq.js';
import { PostgresStore } from '../../src/storage/postgres/index.js';
import { destroySilentConnections } from '../../src/storage/postgres/silent-connections.js';
import { isTransient } from '../../src/storage/postgres/transient.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

describe('Postgres connections that go silent', () => {
  it('drops a connection that sends nothing under a statement, and the pool goes on with a new one', async () => {
    const pool = new pg.Pool({ connectionString: await testDatabaseUrl(), max: 1 });
    destroySilentConnections(pool, 300);
    try {
      const t0 = performance.now();
      const err = await pool.query('SELECT pg_sleep(5)').then(
        () => null,
        (e: unknown) => e,
      );
      const waited = performance.now() - t0;
      assert.ok(err, 'the statement on the silent connection failed');
      assert.equal((err as { code?: string }).code, 'ETIMEDOUT');
      assert.equal(isTransient(err), true);
      assert.ok(waited >= 250 && waited < 4000, `failed after ${Math.round(waited)} ms`);
      assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    } finally {
      await pool.end();
    }
  });

  it('leaves a connection resting in the pool alone, however long it is quiet', async () => {
    const pool = new pg.Pool({ connectionString: await testDatabaseUrl(), max: 1 });
    destroySilentConnections(pool, 200);
    try {
      const pid = async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const first = await pid();
      // The quiet spell is what is tested: three times the timeout, nothing handed out.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await pid(), first);
      assert.equal(pool.totalCount, 1);
    } finally {
      await pool.end();
    }
  });

  it('an enqueue stuck behind a server that answers nothing completes once it answers, stored once', async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const warnings: unknown[] = [];
    const store = await PostgresStore.open({ connectionString: url, schema, replyTimeoutMs: 300, onWarning: (_m, err) => warnings.push(err) });
    const jobq = new Jobq({ store });
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      // The jobs table locked: the enqueue's INSERT waits on the server, which sends nothing meanwhile.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`);
      const enqueued = jobq.enqueue({ type: 'silent' });
      const deadline = Date.now() + 10_000;
      while (!warnings.some((e) => (e as { code?: string }).code === 'ETIMEDOUT') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(
        warnings.some((e) => (e as { code?: string }).code === 'ETIMEDOUT'),
        'the silent connection was dropped and the insert retried',
      );
      await locker.query('COMMIT');
      const { id } = await enqueued;
      assert.equal((await jobq.get(id))?.status, 'pending');
      const { rows } = await locker.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".jobs`);
      assert.equal(rows[0]!.n, 1);
    } finally {
      await locker.end();
      await jobq.close();
    }
  });
});
