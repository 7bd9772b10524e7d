/** Regression: a connection killed in the middle of a transaction must reject, not crash the process. */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { inTransaction } from '../../src/storage/postgres/transaction.js';
import { isTransient } from '../../src/storage/postgres/transient.js';
import { stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

it('inTransaction: the backend terminated mid-transaction rejects with a transient error and the pool carries on', async () => {
  const url = await testDatabaseUrl();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const lost: unknown[] = [];
  try {
    await assert.rejects(
      inTransaction(
        pool,
        async (c) => {
          const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          await admin.query('SELECT pg_terminate_backend($1)', [pid]);
          await c.query('SELECT 1');
        },
        (err) => lost.push(err),
      ),
      (err) => isTransient(err),
    );
    // The broken client was discarded: the pool's only slot works again.
    const { rows } = await pool.query<{ ok: number }>('SELECT 1 AS ok');
    assert.equal(rows[0]?.ok, 1);
  } finally {
    await admin.end();
    await pool.end();
  }
});
