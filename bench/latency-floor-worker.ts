/**
 * The worker process of bench/latency-floor.ts: jobq's worker, or the same
 * chain built from raw parts (the floor), recording when each job's handler
 * starts. argv[2] is a JSON LatencyWorker. Over IPC it sends
 * `{ ready, port? }` once it waits for work, and its start times
 * (`{ starts: [seq, ms][] }`) when told `stop`.
 */
import { createSocket } from 'node:dgram';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Jobq } from '../src/core/jobq.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { nowMs } from './stats.js';

export interface LatencyWorker {
  impl: 'jobq' | 'floor';
  store: 'sqlite' | 'postgres';
  sqlitePath: string;
  pgUrl: string;
  pgSchema: string;
  concurrency: number;
  /** Jobs to expect: the worker says `allStarted` once that many have started. */
  n: number;
  /** The floor's table and its notification channel (Postgres). */
  table: string;
  channel: string;
}

/** This process's part. */
const w = JSON.parse(process.argv[2] ?? '{}') as LatencyWorker;
const starts: [number, number][] = [];
function started(seq: number): void {
  starts.push([seq, nowMs()]);
  if (starts.length === w.n) process.send!({ allStarted: true });
}

/** Claims every pending job (up to `limit`) in one statement, where jobq's claim takes several. */
const claimSql = (limit: number, skipLocked: string) => `
  UPDATE ${w.table} SET status = 'processing'
   WHERE id IN (SELECT id FROM ${w.table} WHERE status = 'pending' ORDER BY id LIMIT ${limit}${skipLocked})
  RETURNING seq`;

async function jobqWorker(): Promise<() => Promise<void>> {
  const store = w.store === 'sqlite' ? new SqliteStore({ path: w.sqlitePath }) : await PostgresStore.open({ connectionString: w.pgUrl, schema: w.pgSchema });
  const jobq = new Jobq({
    store,
    queues: { default: { concurrency: w.concurrency } },
    handlers: { bench: (job) => started((job.payload as { seq: number }).seq) },
  });
  jobq.startWorkers();
  return () => jobq.close();
}

/** SQLite: a datagram from the producer after its commit, then one UPDATE … RETURNING (no fsync, as jobq's worker transitions). */
async function sqliteFloor(): Promise<{ stop: () => Promise<void>; port: number }> {
  const db = new Database(w.sqlitePath);
  db.pragma('synchronous = NORMAL');
  // A claim that meets the producer's next write waits for it, as jobq's store does (its busy_timeout).
  db.pragma('busy_timeout = 5000');
  const claim = db.prepare(claimSql(w.concurrency, '')).pluck();
  const socket = createSocket('udp4');
  socket.on('message', () => {
    for (const seq of claim.all() as number[]) started(seq);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    stop: async () => {
      socket.close();
      db.close();
    },
  };
}

/** Postgres: LISTEN on one connection; on each notification one UPDATE … RETURNING on another (synchronous_commit off, as jobq's worker pool). */
async function postgresFloor(): Promise<() => Promise<void>> {
  const listener = new pg.Client({ connectionString: w.pgUrl });
  const worker = new pg.Client({ connectionString: w.pgUrl, options: '-c synchronous_commit=off' });
  await Promise.all([listener.connect(), worker.connect()]);
  const claim = { name: 'floor-claim', text: claimSql(w.concurrency, ' FOR UPDATE SKIP LOCKED'), rowMode: 'array' as const };
  let claiming = false;
  let again = false;
  const pump = async (): Promise<void> => {
    if (claiming) return void (again = true);
    claiming = true;
    do {
      again = false;
      for (const [seq] of (await worker.query<[number]>(claim)).rows) started(seq);
    } while (again);
    claiming = false;
  };
  listener.on('notification', () => void pump());
  await listener.query(`LISTEN ${w.channel}`);
  return async () => {
    await Promise.all([listener.end(), worker.end()]);
  };
}

async function main(): Promise<void> {
  let stop: () => Promise<void>;
  let port: number | undefined;
  if (w.impl === 'jobq') stop = await jobqWorker();
  else if (w.store === 'sqlite') ({ stop, port } = await sqliteFloor());
  else stop = await postgresFloor();
  process.on('message', (msg) => {
    if (msg !== 'stop') return;
    void stop().then(() => {
      process.send!({ starts });
      process.disconnect();
    });
  });
  process.send!({ ready: true, port });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
