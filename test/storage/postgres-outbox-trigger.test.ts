/**
 * The outbox's insert trigger (outbox-schema.ts) exists only in a schema that
 * runs broker dispatch: a disabled statement trigger with a transition table
 * still collects every inserted row. Without Kafka it is absent and inserts
 * write no outbox entry; outboxEnable() creates it, once, even when several
 * nodes enable at the same time.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { COPY_MIN_JOBS } from '../../src/storage/postgres/copy-insert.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { newRecords } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

async function insertTrigger(url: string, schema: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ tgenabled: string }>(
      `SELECT t.tgenabled FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE n.nspname = $1 AND t.tgname = 'kafka_outbox_insert'`,
      [schema],
    );
    return rows.map((r) => r.tgenabled);
  } finally {
    await c.end();
  }
}

it('without broker dispatch the insert trigger is absent and inserts write no outbox entry; outboxEnable creates it once, even from two nodes at once', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const a = await PostgresStore.open({ connectionString: url, schema });
  const b = await PostgresStore.open({ connectionString: url, schema });
  try {
    assert.deepEqual(await insertTrigger(url, schema), [], 'no insert trigger in a schema that never ran broker dispatch');
    await a.jobInsertMany({ jobs: newRecords(Date.now(), 3) });
    assert.deepEqual(await a.outboxRead!({ limit: 10 }), [], 'no outbox entries without broker dispatch');

    await Promise.all([a.outboxEnable!(), b.outboxEnable!()]);
    await a.outboxEnable!();
    assert.deepEqual(await insertTrigger(url, schema), ['O'], 'one insert trigger, enabled');
    const jobs = newRecords(Date.now(), 2);
    await b.jobInsertMany({ jobs });
    assert.deepEqual(
      (await a.outboxRead!({ limit: 10 })).map((e) => e.jobId),
      jobs.map((j) => j.id),
      'each inserted pending job has its outbox entry',
    );
  } finally {
    await a.close();
    await b.close();
  }
});

it('writes an insert of many jobs as rows of at most 100, in order, and reads whole rows up to the limit', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema });
  try {
    await store.outboxEnable!();
    const jobs = newRecords(Date.now(), 250);
    await store.jobInsertMany({ jobs });
    const all = await store.outboxRead!({ limit: 1000 });
    assert.deepEqual(all.map((e) => e.jobId), jobs.map((j) => j.id), 'every job once, in insert order');
    const rows = [...new Set(all.map((e) => e.seq))];
    assert.deepEqual(rows.map((seq) => all.filter((e) => e.seq === seq).length), [100, 100, 50]);

    const copied = newRecords(Date.now(), COPY_MIN_JOBS + 50);
    await store.jobInsertMany({ jobs: copied });
    assert.deepEqual(
      (await store.outboxRead!({ limit: 10_000 })).slice(all.length).map((e) => e.jobId),
      copied.map((j) => j.id),
      'a batch large enough to go in by COPY: every job once, in insert order, after the others',
    );
    await store.outboxDelete!({ seqs: [...new Set((await store.outboxRead!({ limit: 10_000 })).slice(all.length).map((e) => e.seq))] });

    assert.equal((await store.outboxRead!({ limit: 1 })).length, 100, 'the first row whole, even past the limit');
    assert.equal((await store.outboxRead!({ limit: 120 })).length, 200, 'rows until the limit is reached, whole');
    await store.outboxDelete!({ seqs: rows.slice(0, 2) });
    assert.deepEqual((await store.outboxRead!({ limit: 1000 })).map((e) => e.jobId), jobs.slice(200).map((j) => j.id), 'deleted rows are gone, with all their jobs');

    const more = newRecords(Date.now(), 30);
    await store.jobInsertMany({ jobs: more });
    assert.deepEqual(
      (await store.outboxRead!({ limit: 1000, published: [rows[2]!] })).map((e) => e.jobId),
      more.map((j) => j.id),
      'a read given the published rows leaves them out, and returns the rest',
    );
    assert.deepEqual((await store.outboxRead!({ limit: 1000 })).map((e) => e.jobId), more.map((j) => j.id), 'and it deleted them');
    assert.deepEqual(await store.outboxRead!({ limit: 1000, published: [...new Set((await store.outboxRead!({ limit: 1000 })).map((e) => e.seq))] }), [], 'the last rows too');
    assert.deepEqual(await store.outboxRead!({ limit: 1000 }), [], 'the outbox is empty');
  } finally {
    await store.close();
  }
});
