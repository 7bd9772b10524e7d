/**
 * Every listing filter walks an index: the statements the stores really run
 * for each filter (first page and a cursor page, with and without the
 * residual filters type, key and time) are captured and EXPLAINed.
 * SQLite: no full scan of jobs and no sort. Postgres, with 50,000 jobs and
 * fresh statistics: no sequential scan of jobs.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { JOB_STATUSES, type JobStatus } from '../../src/contracts/job.js';
import type { JobListParams, Store } from '../../src/contracts/store.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { newRecords } from '../helpers/job-factory.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

after(stopSharedCluster);

const T0 = Date.UTC(2030, 0, 1);
const FILTERS: { queue?: string; status?: JobStatus }[] = [{}, { queue: 'a' }, ...JOB_STATUSES.flatMap((status) => [{ status }, { queue: 'a', status }])];

/** Fills the store: every status present in two queues, so each filter has a page and a cursor. */
async function fill(store: Store, n: number): Promise<void> {
  for (const queue of ['a', 'b']) {
    for (let i = 0; i < n; i += 1000) await store.jobInsertMany({ jobs: newRecords(T0, Math.min(1000, n - i), { queue }) });
    const [dep] = newRecords(T0, 1, { queue, delayMs: 60_000 });
    // Waiting jobs: three that depend on a job not yet run.
    await store.jobInsertMany({ jobs: [dep!, ...newRecords(T0, 3, { queue }).map((r) => ({ ...r, dependsOn: [dep!.id] }))] });
    await store.jobInsertMany({ jobs: newRecords(T0, 3, { queue, delayMs: 1000 }) });
    const claimed = await store.jobClaim({ queue, types: null, limit: 9, now: T0, leaseMs: 60_000, leaseToken: `t-${queue}` });
    await store.jobFinishMany({
      finishes: claimed.slice(0, 6).map((j, i) => ({ id: j.id, leaseToken: j.leaseToken, outcome: i < 3 ? { kind: 'completed', resultJson: null } : { kind: 'failed', error: { attempt: 1, message: 'x', at: T0 } } })),
      now: T0 + 1,
    });
    const [c] = await store.jobClaim({ queue, types: null, limit: 1, now: T0, leaseMs: 60_000, leaseToken: `u-${queue}` });
    await store.jobCancel({ id: c!.id, from: ['processing'], now: T0 + 2 });
  }
}

/**
 * Each filter's first page and the page after it (which uses the cursor
 * ranges), plainly and with residual filters (which walk the same ranges).
 */
async function walk(store: Store, f: (typeof FILTERS)[number]): Promise<void> {
  for (const residual of [{}, { type: 'test', createdAfter: T0 - 1, createdBefore: T0 + 1 }]) {
    const p: JobListParams = { ...f, ...residual, limit: 2, include: { payload: false, result: false }, maxBytes: 1e9 };
    const first = await store.jobList(p);
    assert.ok(first.jobs.length > 0, JSON.stringify(p));
    if (first.nextCursor) await store.jobList({ ...p, cursor: first.nextCursor });
  }
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** For each Sort of a JSON plan, the indexes its input is read from. */
function sortedIndexes(node: PlanNode): string[][] {
  const indexes = (n: PlanNode): string[] => [...(n['Index Name'] ? [n['Index Name']] : []), ...(n.Plans ?? []).flatMap(indexes)];
  const here = /Sort$/.test(node['Node Type']) ? [indexes(node)] : [];
  return [...here, ...(node.Plans ?? []).flatMap(sortedIndexes)];
}

describe('listing plans', () => {
  it('sqlite: every filter reads an index, never the whole table, never sorts', async () => {
    const dir = tempDir();
    const store = new SqliteStore({ path: dir.file('plans.db'), synchronous: 'normal' });
    try {
      await fill(store, 3000);
      const conn = (store as unknown as { c: { stmt(sql: string): Database.Statement; db: Database.Database } }).c;
      const seen = new Map<string, Record<string, unknown>>();
      const original = conn.stmt.bind(conn);
      conn.stmt = (sql: string) => {
        const s = original(sql);
        if (/^SELECT .* FROM jobs/s.test(sql)) {
          for (const method of ['iterate', 'all', 'get'] as const) {
            const run = (s[method] as (params: Record<string, unknown>) => unknown).bind(s);
            (s as unknown as Record<string, unknown>)[method] = (params: Record<string, unknown>) => (seen.set(sql, params), run(params));
          }
        }
        return s;
      };
      for (const f of FILTERS) await walk(store, f);
      assert.ok(seen.size >= FILTERS.length, `captured ${seen.size} statements`);
      assert.ok([...seen.keys()].filter((sql) => sql.includes(' AS walk')).length >= FILTERS.length, 'the residual filters\' statements are captured');
      for (const [sql, params] of seen) {
        const plan = (conn.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
        assert.doesNotMatch(plan, /^SCAN jobs$|SCAN jobs \||SCAN jobs$/, `${sql}\n→ ${plan}`);
        assert.doesNotMatch(plan, /TEMP B-TREE/, `${sql}\n→ ${plan}`);
        assert.match(plan, /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/, `${sql}\n→ ${plan}`);
      }
    } finally {
      await store.close();
      dir.remove();
    }
  });

  it('postgres: every filter reads an index, never a sequential scan of jobs', async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const store = await PostgresStore.open({ connectionString: url, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await fill(store, 25_000);
      await admin.query(`ANALYZE "${schema}".jobs`);
      const seen: { text: string; values: unknown[] }[] = [];
      const s = store as unknown as { query(text: string, values: unknown[]): Promise<unknown> };
      const query = s.query.bind(store);
      s.query = (text: string, values: unknown[]) => {
        if (/FROM "[^"]+"\.jobs WHERE/.test(text) && /ORDER BY/.test(text)) seen.push({ text, values });
        return query(text, values);
      };
      for (const f of FILTERS) await walk(store, f);
      assert.ok(seen.length >= FILTERS.length, `captured ${seen.length} statements`);
      assert.ok(seen.filter((q) => q.text.includes(' AS walk')).length >= FILTERS.length, 'the residual filters\' statements are captured');
      for (const q of seen) {
        const { rows } = await admin.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
        const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
        assert.doesNotMatch(plan, /"Node Type":"Seq Scan"/, `${q.text}\n→ ${plan}`);
        // A filtered walk's matches come out of the subquery in order: nothing is sorted but the processing
        // jobs (few), which a queue's listing (no status) reads through jobs_leases (postgres/lists.ts).
        if (q.text.includes(' AS walk')) {
          for (const under of sortedIndexes((rows[0]!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan)) assert.deepEqual(under, ['jobs_leases'], `${q.text}\n→ ${plan}`);
        }
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
      await store.close();
    }
  });
});
