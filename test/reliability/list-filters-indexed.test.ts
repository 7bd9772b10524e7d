/**
 * Issue #7, item 8: list filters on a big table. 200,000 jobs, nearly all
 * completed, one failed; each filter combination must return the right jobs.
 *
 * What this file checks is correctness and it prints the time of each list
 * call; it does not assert on time. The plan check (EXPLAIN QUERY PLAN on
 * SQLite: no `SCAN jobs` without an index; EXPLAIN (FORMAT JSON) on Postgres
 * after ANALYZE: no Seq Scan on jobs) needs the store's SQL text and is added
 * next to that SQL, in the storage tests, by the engineer fixing the SQL.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { newRecords } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

after(stopSharedCluster);

const BULK = 200_000;
const STATUSES = ['scheduled', 'pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
type Status = (typeof STATUSES)[number];

/** What either store looks like to this test. */
interface Opened {
  store: SqliteStore | PostgresStore;
  /** Runs one SQL statement against the same database (schema-qualified as needed). */
  exec(sql: string): Promise<void>;
  jobs: string;
  close(): Promise<void>;
}

async function load(o: Opened): Promise<{ bulkIds: string[]; failedId: string; rare: Record<Status, string> }> {
  const now = Date.now();
  const bulkIds: string[] = [];
  for (let done = 0; done < BULK; done += 5000) {
    const records = newRecords(now, 5000, { queue: 'bulk', type: 'noop' });
    await o.store.jobInsertMany({ jobs: records });
    bulkIds.push(...records.map((r) => r.id));
  }
  const rareRecords = newRecords(now, STATUSES.length, { queue: 'rare', type: 'noop' });
  await o.store.jobInsertMany({ jobs: rareRecords });
  const failedId = bulkIds[BULK / 2]!;
  await o.exec(`UPDATE ${o.jobs} SET status = 'completed', attempts = 1, finished_at = ${now} WHERE queue = 'bulk'`);
  await o.exec(`UPDATE ${o.jobs} SET status = 'failed' WHERE id = '${failedId}'`);
  const rare = {} as Record<Status, string>;
  STATUSES.forEach((s, i) => {
    rare[s] = rareRecords[i]!.id;
  });
  for (const s of STATUSES) {
    const finished = ['completed', 'failed', 'cancelled'].includes(s) ? `, finished_at = ${now}` : '';
    const lease = s === 'processing' ? `, attempts = 1, lease_token = 'x', lease_expires_at = ${now + 60_000}` : '';
    const runAt = s === 'scheduled' ? `, run_at = ${now + 60_000}` : '';
    await o.exec(`UPDATE ${o.jobs} SET status = '${s}'${finished}${lease}${runAt} WHERE id = '${rare[s]}'`);
  }
  return { bulkIds, failedId, rare };
}

async function checkFilters(name: string, o: Opened) {
  const t0 = Date.now();
  const { bulkIds, failedId, rare } = await load(o);
  console.log(`${name}: loaded ${BULK + STATUSES.length} jobs in ${Date.now() - t0} ms`);
  const times: string[] = [];
  // include and maxBytes: the parameters the store takes after the fix (ignored before it).
  const listParams = (params: { queue?: string; status?: Status; limit: number; cursor?: string }) =>
    ({ ...params, include: { payload: false, result: false }, maxBytes: 4 * 1024 * 1024 }) as never;
  const list = async (label: string, params: { queue?: string; status?: Status; limit: number }) => {
    const s = performance.now();
    const page = await o.store.jobList(listParams(params));
    times.push(`${label} ${(performance.now() - s).toFixed(1)} ms`);
    return page;
  };
  const ids = (p: { jobs: { id: string }[] }) => p.jobs.map((j) => j.id);
  // A status filter lists in the order that status is worked in (after the fix): compare those as sets.
  const idSet = (p: { jobs: { id: string }[] }) => ids(p).sort();

  assert.deepEqual(ids(await list('none', { limit: 1 })), [bulkIds[0]]);
  assert.deepEqual(ids(await list('queue=rare', { queue: 'rare', limit: 10 })), STATUSES.map((s) => rare[s]));
  assert.deepEqual(ids(await list('queue=bulk', { queue: 'bulk', limit: 1 })), [bulkIds[0]]);
  for (const s of STATUSES) {
    const page = await list(`status=${s}`, { status: s, limit: s === 'completed' ? 1 : 10 });
    if (s === 'completed') {
      assert.equal(page.jobs.length, 1);
      assert.equal(page.jobs[0]!.status, 'completed');
      assert.ok(page.nextCursor, 'more completed jobs follow');
    } else {
      assert.deepEqual(idSet(page), (s === 'failed' ? [failedId, rare.failed] : [rare[s]]).sort(), `status=${s}`);
      assert.equal(page.nextCursor, null);
    }
    assert.deepEqual(ids(await list(`queue=rare&status=${s}`, { queue: 'rare', status: s, limit: 10 })), [rare[s]], `queue=rare, status=${s}`);
  }
  assert.deepEqual(ids(await list('queue=bulk&status=failed', { queue: 'bulk', status: 'failed', limit: 1 })), [failedId]);
  const none = await list('queue=bulk&status=pending', { queue: 'bulk', status: 'pending', limit: 50 });
  assert.deepEqual(ids(none), []);
  assert.equal(none.nextCursor, null);
  // Pages of one: the cursor after the first failed job leads to the other one, then to the end.
  const first = await list('status=failed limit 1', { status: 'failed', limit: 1 });
  assert.equal(first.jobs.length, 1);
  assert.ok(first.nextCursor);
  const second = await o.store.jobList(listParams({ status: 'failed', limit: 1, cursor: first.nextCursor }));
  assert.deepEqual([...ids(first), ...ids(second)].sort(), [failedId, rare.failed].sort());
  console.log(`${name} list times (not asserted): ${times.join('; ')}`);
}

it('sqlite: 200,000 jobs (one failed): every list filter returns the right jobs', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const store = new SqliteStore({ path, synchronous: 'normal' });
  const raw = new Database(path);
  raw.pragma('busy_timeout = 5000');
  try {
    await checkFilters('sqlite', {
      store,
      jobs: 'jobs',
      exec: async (sql) => void raw.exec(sql),
      close: async () => {},
    });
  } finally {
    raw.close();
    await store.close();
    dir.remove();
  }
});

it('postgres: 200,000 jobs (one failed), ANALYZEd: every list filter returns the right jobs', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema, listen: false });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await checkFilters('postgres', {
      store,
      jobs: `"${schema}".jobs`,
      exec: async (sql) => {
        await admin.query(sql);
        if (/^UPDATE .* WHERE queue = 'bulk'$/.test(sql)) await admin.query(`ANALYZE "${schema}".jobs`);
      },
      close: async () => {},
    });
  } finally {
    await admin.end();
    await store.close();
  }
});
