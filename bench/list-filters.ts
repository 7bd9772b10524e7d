/**
 * `npm run bench:lists`: every listing filter over 1,000,000 jobs, on SQLite
 * and Postgres. Most jobs are completed, a few thousand are pending,
 * scheduled or processing, and exactly one failed and one cancelled job sit
 * among them (the needle a dashboard looks for). Prints the median of 5 runs
 * of each filter's first page (limit 50, and limit 1) and writes
 * bench/results/lists.json. BENCH_LIST_N sets the job count.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { JOB_STATUSES, type JobStatus } from '../src/contracts/job.js';
import type { Store } from '../src/contracts/store.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { summarize, writeResult } from './stats.js';

const N = Number(process.env.BENCH_LIST_N ?? 1_000_000);
const T0 = Date.UTC(2030, 0, 1);

/** Bulk rows straight through SQL: a million enqueues through the API would measure the API. */
function sqliteFill(path: string): void {
  const store = new SqliteStore({ path, synchronous: 'normal' });
  const db = (store as unknown as { c: { db: import('better-sqlite3').Database } }).c.db;
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
    INSERT INTO jobs (id, queue, type, payload, status, priority, max_attempts, run_at, created_at, updated_at, finished_at, started_at, attempts)
    SELECT printf('%08x-0000-7000-8000-%012x', i, i), CASE WHEN i % 10 = 0 THEN 'rare' ELSE 'bulk' END, 'noop', '{"i":' || i || '}',
           CASE WHEN i > ${N} - 3000 THEN 'pending' WHEN i > ${N} - 4000 THEN 'scheduled' WHEN i > ${N} - 4100 THEN 'processing' ELSE 'completed' END,
           0, 3, ${T0} + i, ${T0} + i, ${T0} + i, CASE WHEN i <= ${N} - 4100 THEN ${T0} + i END, ${T0} + i, 1
      FROM n;
    UPDATE jobs SET lease_token = 'x', lease_expires_at = ${T0} + seq + 60000 WHERE status = 'processing';
    UPDATE jobs SET status = 'failed' WHERE seq = ${Math.floor(N / 2)};
    UPDATE jobs SET status = 'cancelled' WHERE seq = ${Math.floor(N / 3)};
    INSERT OR IGNORE INTO queues (name, paused) VALUES ('bulk', 0), ('rare', 0);
    ANALYZE;`);
  void store.close();
}

async function pgFill(url: string, schema: string): Promise<void> {
  const store = await PostgresStore.open({ connectionString: url, schema });
  await store.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const s = `"${schema}"`;
  await c.query(`
    INSERT INTO ${s}.jobs (id, queue, type, payload, status, priority, max_attempts, run_at, created_at, updated_at, finished_at, started_at, attempts)
    SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, CASE WHEN i % 10 = 0 THEN 'rare' ELSE 'bulk' END, 'noop', ('{"i":' || i || '}')::json,
           CASE WHEN i > ${N} - 3000 THEN 'pending' WHEN i > ${N} - 4000 THEN 'scheduled' WHEN i > ${N} - 4100 THEN 'processing' ELSE 'completed' END,
           0, 3, ${T0} + i, ${T0} + i, ${T0} + i, CASE WHEN i <= ${N} - 4100 THEN ${T0} + i END, ${T0} + i, 1
      FROM generate_series(1, ${N}) AS i`);
  await c.query(`UPDATE ${s}.jobs SET lease_token = 'x', lease_expires_at = run_at + 60000 WHERE status = 'processing'`);
  await c.query(`UPDATE ${s}.jobs SET status = 'failed' WHERE seq = ${Math.floor(N / 2)}`);
  await c.query(`UPDATE ${s}.jobs SET status = 'cancelled' WHERE seq = ${Math.floor(N / 3)}`);
  await c.query(`INSERT INTO ${s}.queues (name) VALUES ('bulk'), ('rare') ON CONFLICT DO NOTHING`);
  await c.query(`VACUUM ANALYZE ${s}.jobs`);
  await c.end();
}

async function time(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const filters: { queue?: string; status?: JobStatus; limit: number }[] = [{ limit: 50 }, { queue: 'rare', limit: 50 }];
  for (const status of JOB_STATUSES) filters.push({ status, limit: 50 }, { status, limit: 1 }, { queue: 'rare', status, limit: 50 });
  for (const f of filters) {
    const samples: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = performance.now();
      const page = await store.jobList({ ...f, include: { payload: false, result: false }, maxBytes: 4 << 20 });
      if (i > 0) samples.push(performance.now() - t); // the first run warms the cache
      // The fill makes one failed and one cancelled job (none in queue 'rare') and no waiting ones: those filters time a walk that finds little or nothing.
      if (page.jobs.length === 0 && f.status !== undefined && !['failed', 'cancelled', 'waiting'].includes(f.status)) throw new Error(`empty page for ${JSON.stringify(f)}`);
    }
    out[`${f.queue ? `queue=${f.queue}&` : ''}${f.status ? `status=${f.status}&` : ''}limit=${f.limit}`] = summarize(samples).p50;
  }
  return out;
}

const results: Record<string, Record<string, number>> = {};
const dir = join(tmpdir(), `jobq-bench-lists-${process.pid}`);
mkdirSync(dir, { recursive: true });
try {
  process.stderr.write(`loading ${N.toLocaleString('en-US')} jobs into SQLite…\n`);
  const path = join(dir, 'lists.db');
  sqliteFill(path);
  const sqlite = new SqliteStore({ path });
  results.sqlite = await time(sqlite);
  await sqlite.close();
  const { startCluster } = await import('../test/helpers/postgres.js');
  const cluster = process.env.BENCH_PG_URL ? null : await startCluster();
  const url = process.env.BENCH_PG_URL ?? cluster!.url;
  process.stderr.write(`loading ${N.toLocaleString('en-US')} jobs into Postgres…\n`);
  await pgFill(url, 'jobq_bench_lists');
  const postgres = await PostgresStore.open({ connectionString: url, schema: 'jobq_bench_lists' });
  results.postgres = await time(postgres);
  await postgres.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('DROP SCHEMA jobq_bench_lists CASCADE');
  await c.end();
  await cluster?.destroy();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const rows = Object.keys(results.sqlite!).map((k) => `| ${k} | ${results.sqlite![k]!.toFixed(2)} | ${results.postgres?.[k]?.toFixed(2) ?? '—'} |`);
const table = [`| filter (${N.toLocaleString('en-US')} jobs, one failed) | SQLite ms | Postgres ms |`, '| --- | ---: | ---: |', ...rows].join('\n');
process.stdout.write(`${table}\n`);
writeResult('lists', { n: N, results });
