/** Named prepared statements on Postgres (prepared.ts): used when on, never when off, and a schema change under a running store is survived. */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { NO_LIMITS } from '../../src/contracts/store.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { newRecord } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

/** Enqueues one job and claims it through the store's single worker connection. */
async function roundTrip(store: PostgresStore, n: number): Promise<number> {
  const now = Date.now();
  await store.jobInsertMany({ jobs: [newRecord(now, { queue: 'q' })] });
  return (await store.jobClaim({ queue: 'q', types: null, limit: 10, now: now + 1, leaseMs: 30_000, leaseToken: `lease-${n}` })).length;
}

/** The statements prepared on the store's worker connection (poolSize 1: there is one). */
async function preparedOnWorker(store: PostgresStore): Promise<string[]> {
  const pool = (store as unknown as { workerPool: pg.Pool }).workerPool;
  return (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements')).rows.map((r) => r.name);
}

it('claims with a named prepared statement when on (always planned for its parameters), and with none when off (--no-prepare)', async () => {
  const url = await testDatabaseUrl();
  for (const prepare of [true, false]) {
    const store = await PostgresStore.open({ connectionString: url, schema: freshSchema(), poolSize: 1, prepare });
    try {
      assert.equal(await roundTrip(store, 1), 1);
      const names = await preparedOnWorker(store);
      if (prepare) assert.ok(names.some((n) => n.startsWith('jobq_')), `a jobq statement is prepared (found ${names.join(', ') || 'none'})`);
      else assert.deepEqual(names, [], 'nothing prepared');
      // Never a generic plan: it guesses the claim's LIMIT and, once ANALYZE has run, scans the table.
      const pool = (store as unknown as { workerPool: pg.Pool }).workerPool;
      assert.equal((await pool.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode, 'force_custom_plan');
    } finally {
      await store.close();
    }
  }
});

for (const limited of [false, true]) {
  it(`a column added to jobs under a running store (a newer node migrating): the stale statement is sent again unnamed, names go off with a warning, claims go on${limited ? ' (a flow-controlled queue: its claim transaction runs again)' : ''}`, async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const warnings: string[] = [];
    const store = await PostgresStore.open({ connectionString: url, schema, poolSize: 1, onWarning: (m) => warnings.push(m) });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      if (limited) await store.queueConfigure({ name: 'q', settings: { ...NO_LIMITS, concurrency: 100 }, maxQueues: 10, now: Date.now() });
      for (let i = 0; i < 6; i++) assert.equal(await roundTrip(store, i), 1, 'claims before the change (their statements prepared)');
      await admin.query(`ALTER TABLE "${schema}".jobs ADD COLUMN added_by_a_newer_node int`);
      assert.equal(await roundTrip(store, 10), 1, 'the claim after the change');
      assert.equal(await roundTrip(store, 11), 1, 'and the next');
      assert.equal(warnings.filter((w) => w.includes('prepared statements are off')).length, 1, `one warning (got: ${warnings.join(' | ')})`);
    } finally {
      await admin.end();
      await store.close();
    }
  });
}
