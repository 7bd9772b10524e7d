/**
 * Large batches go in by COPY (copy-insert.ts). Its connection killed in the
 * middle of the copy: the batch is sent again and stored exactly once.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { COPY_MIN_JOBS } from '../../src/storage/postgres/copy-insert.js';
import { quoteIdent } from '../../src/storage/postgres/migrations.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { newRecords } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

it('a batch whose COPY loses its connection half-way is sent again and stored exactly once', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const warnings: string[] = [];
  const store = await PostgresStore.open({ connectionString: url, schema, onWarning: (msg: string) => void warnings.push(msg) });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const jobs = newRecords(Date.now(), 50_000, { queue: 'copied' });
    assert.ok(jobs.length >= COPY_MIN_JOBS);
    const insert = store.jobInsertMany({ jobs });
    // Kill the backend while its COPY runs (50,000 rows take a few hundred ms).
    let killed = 0;
    const deadline = Date.now() + 10_000;
    while (killed === 0 && Date.now() < deadline) {
      // This test's schema only: other test files copy into the same cluster at the same time.
      const r = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND starts_with(query, $1)`, [`COPY ${quoteIdent(schema)}.jobs `]);
      killed = r.rowCount ?? 0;
    }
    assert.equal(killed, 1, 'the COPY was caught running and its backend terminated');
    await insert;
    const { rows } = await admin.query<{ n: string; distinct_ids: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM ${quoteIdent(schema)}.jobs WHERE queue = 'copied'`);
    assert.deepEqual(rows[0], { n: '50000', distinct_ids: '50000' });
    assert.ok(warnings.some((w) => /transient Postgres error|connection lost/i.test(w)), `the retry was reported: ${JSON.stringify(warnings)}`);
  } finally {
    await admin.end();
    await store.close();
  }
});
