/** Named prepared statements on Postgres (prepared.ts): used when on, never when off, and a schema change under a running store is survived. */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { NO_LIMITS } from '../../src/contracts/store.js';
import { quoteIdent } from '../../src/storage/postgres/migrations.js';
import { outboxStatements } from '../../src/storage/postgres/outbox.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { CLAIM_SIZES, claimStatements, jobStatements } from '../../src/storage/postgres/sql.js';
import { newRecord, newRecords } from '../helpers/job-factory.js';
import { adminQuery, freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

/**
 * Enqueues a job and claims it through the store's single worker connection; `read` also reads it back first (`SELECT *`: since a claim returns
 * named columns, an added column leaves the claim's result as it was, and a read is what goes stale).
 */
async function roundTrip(store: PostgresStore, n: number, read = false): Promise<number> {
  const now = Date.now();
  const job = newRecord(now, { queue: 'q' });
  await store.jobInsertMany({ jobs: [job] });
  if (read) assert.equal((await store.jobGet(job.id))?.id, job.id);
  return (await store.jobClaim({ queue: 'q', types: null, limit: 10, now: now + 1, leaseMs: 30_000, leaseToken: `lease-${n}` })).length;
}

/** The statements prepared on the store's worker connection (poolSize 1: there is one). */
async function preparedOnWorker(store: PostgresStore): Promise<string[]> {
  const pool = (store as unknown as { workerPool: pg.Pool }).workerPool;
  return (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements')).rows.map((r) => r.name);
}

it('claims with a named prepared statement when on (its plan cached in auto mode), and with none when off (--no-prepare)', async () => {
  const url = await testDatabaseUrl();
  for (const prepare of [true, false]) {
    const store = await PostgresStore.open({ connectionString: url, schema: freshSchema(), poolSize: 1, prepare });
    try {
      assert.equal(await roundTrip(store, 1), 1);
      const names = await preparedOnWorker(store);
      if (prepare) assert.ok(names.some((n) => n.startsWith('jobq_')), `a jobq statement is prepared (found ${names.join(', ') || 'none'})`);
      else assert.deepEqual(names, [], 'nothing prepared');
      // The worker's statements may keep a generic plan (the next test checks those plans).
      const pool = (store as unknown as { workerPool: pg.Pool }).workerPool;
      assert.equal((await pool.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode, 'auto');
    } finally {
      await store.close();
    }
  }
});

it('a plain insert goes on connections of its own, named jobq/<pid>/insert, where Postgres keeps a generic plan of it after five custom ones', async () => {
  const url = await testDatabaseUrl();
  const store = await PostgresStore.open({ connectionString: url, schema: freshSchema(), poolSize: 1 });
  try {
    for (let i = 0; i < 8; i++) await store.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'q' })] });
    // Sequential inserts reuse the pool's one idle connection, so this query lands on it too.
    const pool = (store as unknown as { insertPool: pg.Pool }).insertPool;
    const { rows } = await pool.query<{ statement: string; generic_plans: string; custom_plans: string; app: string }>(
      `SELECT statement, generic_plans, custom_plans, current_setting('application_name') AS app FROM pg_prepared_statements WHERE name LIKE 'jobq_%'`,
    );
    assert.equal(rows.length, 1, 'the insert is the one statement prepared there');
    assert.match(rows[0]!.statement, /INSERT INTO .*\.jobs/);
    assert.equal(Number(rows[0]!.custom_plans), 5, 'planned for its parameters five times');
    assert.equal(Number(rows[0]!.generic_plans), 3, 'then the generic plan kept');
    assert.equal(rows[0]!.app, `jobq/${process.pid}/insert`);
  } finally {
    await store.close();
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
      // The flow-controlled claim's lease returns `*` and goes stale itself; the plain claim's does not, so a read does.
      const read = !limited;
      for (let i = 0; i < 6; i++) assert.equal(await roundTrip(store, i, read), 1, 'claims before the change (their statements prepared)');
      await admin.query(`ALTER TABLE "${schema}".jobs ADD COLUMN added_by_a_newer_node int`);
      assert.equal(await roundTrip(store, 10, read), 1, 'the claim after the change');
      assert.equal(await roundTrip(store, 11, read), 1, 'and the next');
      assert.equal(warnings.filter((w) => w.includes('prepared statements are off')).length, 1, `one warning (got: ${warnings.join(' | ')})`);
    } finally {
      await admin.end();
      await store.close();
    }
  });
}

it("the worker's statements have good generic plans once statistics exist: claims read jobs_claim and lease by id, finishes and heartbeats look each job up by id", async (t) => {
  const url = await testDatabaseUrl();
  const version = Number((await adminQuery(url, 'SHOW server_version_num')).rows[0].server_version_num);
  if (version < 160000) {
    t.skip(`EXPLAIN (GENERIC_PLAN) needs Postgres 16 or later; this server is ${version}`);
    return;
  }
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema, poolSize: 1 });
  try {
    // A backlog, some of it processing, and statistics taken then: what a busy queue looks like to the planner.
    const now = Date.now();
    for (let i = 0; i < 20; i++) await store.jobInsertMany({ jobs: newRecords(now, 1000, { queue: 'q' }) });
    await store.jobClaim({ queue: 'q', types: null, limit: 500, now, leaseMs: 30_000, leaseToken: 'stats' });
    const s = quoteIdent(schema);
    await adminQuery(url, `ANALYZE ${s}.jobs`);
    const sql = jobStatements(s, 'unused');
    const planText = async (text: string) => {
      // Two statements, two results: the plan is the second's.
      const [, explained] = (await adminQuery(url, `SET enable_bitmapscan = off; EXPLAIN (GENERIC_PLAN) ${text}`)) as unknown as pg.QueryResult<{ 'QUERY PLAN': string }>[];
      return explained!.rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    // The plain claims, and the same with their follow-up (AFTER_CLAIM: the queue's last claim came back short).
    for (const [kind, texts] of [...Object.entries(claimStatements(s)), ...Object.entries(claimStatements(s, true)).map(([k, v]) => [`${k} with follow-up`, v] as const)]) {
      // The sized statements (the last of each kind is the $2 form, for claims above the largest size).
      for (const [i, text] of texts.slice(0, CLAIM_SIZES.length).entries()) {
        const p = await planText(text);
        const size = CLAIM_SIZES[i]!;
        assert.match(p, /Index Scan using jobs_claim on jobs x/, `${kind}, size ${size}: ready jobs read from jobs_claim\n${p}`);
        // Up to 64 (a worker's usual claim), leased row by row through the primary key (id). Larger claims on a
        // table this small may hash-join a scan of it instead, as a plan made for their parameters would.
        if (size <= 64) {
          assert.doesNotMatch(p, /Seq Scan on jobs/, `${kind}, size ${size}:\n${p}`);
          assert.match(p, /Index Scan using jobs_pkey on jobs j/, `${kind}, size ${size}: leased by id\n${p}`);
        }
      }
    }
    const byId = {
      finishPlain: sql.finishPlain,
      finishPlainIds: sql.finishPlainIds,
      finish: sql.finish,
      finishPlainOne: sql.finishPlainOne,
      finishPlainIdsOne: sql.finishPlainIdsOne,
      finishOne: sql.finishOne,
      extend: sql.extend,
      progress: sql.progress,
      claimByIds: outboxStatements(s, schema).claimByIds,
    };
    for (const [name, text] of Object.entries(byId)) {
      const p = await planText(text);
      assert.match(p, /jobs_pkey on jobs j?/, `${name} looks jobs up by id:\n${p}`);
      assert.doesNotMatch(p, /jobs_leases|Seq Scan on jobs/, `${name}:\n${p}`);
    }
  } finally {
    await store.close();
  }
});
