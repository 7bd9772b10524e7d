/** The committed schema dump and the migrations agree; a migration that moves data does it right. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { isOwnIdConflict } from '../../src/storage/postgres/errors.js';
import { dumpSchema } from '../../src/storage/postgres/schema-dump.js';
import { newRecords } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

const DUMP = new URL('../../../src/storage/postgres/schema.sql', import.meta.url);

it('migrations build exactly the committed schema dump (src/storage/postgres/schema.sql)', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema });
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const actual = await dumpSchema(client, schema);
  await client.end();
  if (process.env.JOBQ_UPDATE_SCHEMA_DUMP === '1') writeFileSync(DUMP, actual);
  assert.equal(actual, readFileSync(DUMP, 'utf8'), 'schema drifted: a migration changed the schema; review it and rewrite the dump with JOBQ_UPDATE_SCHEMA_DUMP=1');
});

/**
 * A migrated schema of its own, taken back to before a migration by `downgrade` (with a raw
 * client, also handed to `check`); the store, opened again, migrates it forward.
 */
async function migratedAgain(downgrade: (client: pg.Client, q: string) => Promise<void>, check: (store: PostgresStore, client: pg.Client, q: string) => Promise<void>): Promise<void> {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const q = `"${schema}"`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await (await PostgresStore.open({ connectionString: url, schema })).close();
    await downgrade(client, q);
    const store = await PostgresStore.open({ connectionString: url, schema });
    try {
      await check(store, client, q);
    } finally {
      await store.close();
    }
  } finally {
    await client.end();
  }
}

it('migration 7 marks the queues that already hold unfinished jobs with an ordering key, and only those', async () => {
  await migratedAgain(
    async (client, q) => {
      // Back to version 6 with data (migrations 8 and 9 run again too: they are idempotent): an ordered pending job in one queue, an ordered finished one in another.
      await client.query(`DROP TRIGGER jobs_mark_ordered ON ${q}.jobs; DROP FUNCTION ${q}.mark_ordered(); ALTER TABLE ${q}.queues DROP COLUMN ordered; DELETE FROM ${q}.jobq_migrations WHERE version >= 7`);
      const insert = `INSERT INTO ${q}.jobs (id, queue, type, payload, status, priority, max_attempts, run_at, created_at, updated_at, ordering_key) VALUES (gen_random_uuid(), $1, 't', 'null', $2, 0, 3, 0, 0, 0, 'acct')`;
      await client.query(`INSERT INTO ${q}.queues (name) VALUES ('live'), ('done'), ('plain')`);
      await client.query(insert, ['live', 'pending']);
      await client.query(insert, ['done', 'completed']);
    },
    async (_store, client, q) => {
      const { rows } = await client.query<{ name: string; ordered: boolean }>(`SELECT name, ordered FROM ${q}.queues ORDER BY name`);
      assert.deepEqual(rows, [
        { name: 'done', ordered: false },
        { name: 'live', ordered: true },
        { name: 'plain', ordered: false },
      ]);
    },
  );
});

it('migration 9 turns outbox rows waiting at upgrade time into one-job rows, in order', async () => {
  const ids = ['5b0c6c1e-0000-4000-8000-000000000001', '5b0c6c1e-0000-4000-8000-000000000002'];
  await migratedAgain(
    async (client, q) => {
      // Back to version 8: one row per job.
      await client.query(`DELETE FROM ${q}.jobq_migrations WHERE version >= 9;
        ALTER TABLE ${q}.kafka_outbox DROP COLUMN job_ids, DROP COLUMN ordering_keys, ADD COLUMN job_id uuid NOT NULL, ADD COLUMN ordering_key text`);
      await client.query(`INSERT INTO ${q}.kafka_outbox (job_id, queue, ordering_key, created_at) VALUES ($1, 'a', NULL, 1), ($2, 'b', 'acct', 2)`, ids);
    },
    async (store) => {
      const entries = await store.outboxRead!({ limit: 10 });
      assert.deepEqual(entries.map((e) => [e.jobId, e.queue, e.orderingKey]), [[ids[0], 'a', null], [ids[1], 'b', 'acct']]);
      assert.notEqual(entries[0]!.seq, entries[1]!.seq, 'still one row each');
    },
  );
});

it('migration 10 moves the primary key to id and keeps processing jobs out of the creation-order indexes; listings still show them in order', async () => {
  await migratedAgain(
    async (client, q) => {
      // Back to version 9's indexes, with a job of each status the listing merges.
      await client.query(`DELETE FROM ${q}.jobq_migrations WHERE version >= 10;
        ALTER TABLE ${q}.jobs DROP CONSTRAINT jobs_pkey, ADD CONSTRAINT jobs_id_key UNIQUE (id), ADD CONSTRAINT jobs_pkey PRIMARY KEY (seq);
        DROP INDEX IF EXISTS ${q}.jobs_seq; DROP INDEX ${q}.jobs_list; CREATE INDEX jobs_list ON ${q}.jobs (queue, seq)`);
      const insert = `INSERT INTO ${q}.jobs (id, queue, type, payload, status, priority, max_attempts, run_at, created_at, updated_at, lease_token, lease_expires_at)
        VALUES ($1, 'a', 't', 'null', $2, 0, 3, 0, 0, 0, $3, $4)`;
      for (const [i, status] of ['pending', 'processing', 'completed', 'processing', 'pending'].entries()) {
        await client.query(insert, [`5b0c6c1e-0000-4000-8000-00000000000${i}`, status, status === 'processing' ? 'tok' : null, status === 'processing' ? 9e12 : null]);
      }
    },
    async (store, client, q) => {
      assert.equal(await dumpSchema(client, q.slice(1, -1)), readFileSync(DUMP, 'utf8'), 'the upgraded schema is the committed one');
      const page = await store.jobList({ queue: 'a', limit: 3, include: { payload: false, result: false }, maxBytes: 1e9 });
      assert.deepEqual(page.jobs.map((j) => j.status), ['pending', 'processing', 'completed']);
      const rest = await store.jobList({ queue: 'a', limit: 3, cursor: page.nextCursor!, include: { payload: false, result: false }, maxBytes: 1e9 });
      assert.deepEqual(rest.jobs.map((j) => j.status), ['processing', 'pending']);
      assert.equal(rest.nextCursor, null);
    },
  );
});

it('migration 11 drops jobs_seq; a listing of everything goes by id through the primary key, processing jobs in their place', async () => {
  await migratedAgain(
    async (client, q) => {
      await client.query(`DELETE FROM ${q}.jobq_migrations WHERE version >= 11; CREATE INDEX jobs_seq ON ${q}.jobs (seq) WHERE status <> 'processing'`);
      // Stored in another order than their ids': the listing follows the ids.
      const insert = `INSERT INTO ${q}.jobs (id, queue, type, payload, status, priority, max_attempts, run_at, created_at, updated_at, lease_token, lease_expires_at)
        VALUES ($1, $2, 't', 'null', $3, 0, 3, 0, 0, 0, $4, $5)`;
      for (const [i, queue, status] of [[3, 'a', 'pending'], [1, 'b', 'processing'], [4, 'b', 'completed'], [0, 'a', 'processing'], [2, 'a', 'pending']] as const) {
        await client.query(insert, [`5b0c6c1e-0000-4000-8000-00000000000${i}`, queue, status, status === 'processing' ? 'tok' : null, status === 'processing' ? 9e12 : null]);
      }
    },
    async (store, client, q) => {
      assert.equal(await dumpSchema(client, q.slice(1, -1)), readFileSync(DUMP, 'utf8'), 'the upgraded schema is the committed one');
      const { rows } = await client.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'jobs_seq'`, [q.slice(1, -1)]);
      assert.equal(rows.length, 0, 'jobs_seq is gone');
      const light = { payload: false, result: false };
      const page = await store.jobList({ limit: 2, include: light, maxBytes: 1e9 });
      const rest = await store.jobList({ limit: 5, cursor: page.nextCursor!, include: light, maxBytes: 1e9 });
      assert.deepEqual([...page.jobs, ...rest.jobs].map((j) => [j.id.slice(-1), j.status]), [['0', 'processing'], ['1', 'processing'], ['2', 'pending'], ['3', 'pending'], ['4', 'completed']]);
      assert.equal(rest.nextCursor, null);
    },
  );
});

it("a second insert of the same job id is recognised as the id's own conflict (what a retried insert whose first reply was lost meets), a key's is not", async () => {
  const url = await testDatabaseUrl();
  const store = await PostgresStore.open({ connectionString: url, schema: freshSchema() });
  try {
    const [job] = newRecords(Date.now(), 1, { queue: 'q' });
    await store.jobInsertMany({ jobs: [job!] });
    const err = await store.jobInsertMany({ jobs: [job!] }).then(() => null, (e: unknown) => e);
    assert.ok(err !== null, 'the same id twice is refused');
    assert.equal(isOwnIdConflict(err), true, `the constraint the schema names: ${(err as { constraint?: string }).constraint}`);
    assert.equal(isOwnIdConflict(Object.assign(new Error('dup'), { code: '23505', constraint: 'jobs_unique_key' })), false);
  } finally {
    await store.close();
  }
});
