/**
 * One library-level scenario in a fresh process, so every run starts cold and
 * its peak RSS is its own. argv[2] is a JSON LibraryScenario; the last stdout
 * line is the JSON result.
 */
// First, for its side effect: a worker scenario's heap setting, before the other modules load.
import './worker-heap.js';
import { rmSync } from 'node:fs';
import { Jobq } from '../src/core/jobq.js';
import type { Store } from '../src/contracts/store.js';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import pg from 'pg';
import { sqliteAloneSequential } from './sqlite-alone.js';
import { nowMs, peakRssMB, summarize } from './stats.js';

export interface LibraryScenario {
  store: 'memory' | 'sqlite' | 'postgres';
  sqlitePath: string;
  /** postgres: server URL and the schema to use (dropped first unless preloaded). */
  pgUrl?: string;
  pgSchema?: string;
  /** sqlite-alone: the sequential insert with no jobq code per job (sqlite-alone.ts), on the file the store created. */
  kind: 'lib-concurrent' | 'lib-bulk' | 'lib-sequential' | 'sqlite-alone' | 'drain' | 'latency';
  /** SQLite: 'normal' skips the fsync of acknowledged changes (default 'full'). */
  synchronous?: 'full' | 'normal';
  n: number;
  /** Callers (lib-concurrent) or worker concurrency (drain, latency). */
  concurrency: number;
  /** Jobs per second offered in latency. */
  rate?: number;
  /** Leave the SQLite file for the next scenario (a preload). */
  keepFile?: boolean;
  /** drain: the jobs are already in the SQLite file. */
  preloaded?: boolean;
  /** In-process event subscribers attached to every Jobq (issue #8: events never slow the hot path). */
  subscribers?: number;
}


async function openStore(s: LibraryScenario): Promise<Store> {
  if (s.store === 'memory') return new MemoryStore({ maxActiveJobs: 10_000_000, maxFinishedJobs: 10_000_000 });
  if (s.store === 'postgres') {
    if (!s.preloaded) {
      const c = new pg.Client({ connectionString: s.pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${s.pgSchema}" CASCADE`);
      await c.end();
    }
    return PostgresStore.open({ connectionString: s.pgUrl!, schema: s.pgSchema!, poolSize: 20 });
  }
  if (!s.preloaded) for (const suffix of ['', '-wal', '-shm']) rmSync(s.sqlitePath + suffix, { force: true });
  return new SqliteStore({ path: s.sqlitePath, synchronous: s.synchronous ?? 'full' });
}

/** Attaches `subscribers` listeners to every event, each doing the little a real one would (count by kind). */
function observe(jobq: Jobq, s: LibraryScenario): void {
  const seen = new Map<string, number>();
  for (let i = 0; i < (s.subscribers ?? 0); i++) jobq.events.subscribe((e) => void seen.set(e.kind, (seen.get(e.kind) ?? 0) + 1));
}

/**
 * Enqueues before a throughput scenario's clock starts (the HTTP rows warm up
 * likewise). Enough for V8 to have optimized the enqueue path: on the memory
 * store 5,000 jobs take about 10 ms, and a measured run of 50,000 then still
 * included compiling (library bulk enqueue read 424,219 jobs/s after 5,000
 * and 531,904 after 30,000, medians of 7).
 */
const WARM_UP = 30_000;

async function preload(jobq: Jobq, n: number): Promise<void> {
  for (let done = 0; done < n; done += 1000) {
    await jobq.enqueueMany(Array.from({ length: Math.min(1000, n - done) }, (_, i) => ({ type: 'noop', payload: { seq: done + i } })));
  }
}

/** `concurrency` callers enqueueing one job at a time, each awaited, until n are in. */
async function callers(jobq: Jobq, n: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await jobq.enqueue({ type: 'noop', payload: { seq: next++ } });
    }),
  );
}

async function run(s: LibraryScenario): Promise<Record<string, number>> {
  const store = await openStore(s);
  if (s.kind === 'lib-concurrent') {
    const jobq = new Jobq({ store });
    observe(jobq, s);
    // Untimed first (V8 compiling the enqueue path is not throughput); not for a preload, whose file holds exactly n jobs.
    if (!s.keepFile) await callers(jobq, WARM_UP, s.concurrency);
    const t0 = performance.now();
    await callers(jobq, s.n, s.concurrency);
    const ms = performance.now() - t0;
    await jobq.close();
    return { jobsPerSec: (s.n / ms) * 1000, elapsedMs: ms };
  }
  if (s.kind === 'lib-sequential') {
    // One caller, each enqueue awaited before the next: every one is its own commit (and fsync).
    const jobq = new Jobq({ store });
    observe(jobq, s);
    for (let i = 0; i < 300; i++) await jobq.enqueue({ type: 'noop', payload: { seq: i } }); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < s.n; i++) await jobq.enqueue({ type: 'noop', payload: { seq: i } });
    const ms = performance.now() - t0;
    await jobq.close();
    return { jobsPerSec: (s.n / ms) * 1000, elapsedMs: ms };
  }
  if (s.kind === 'sqlite-alone') {
    await store.close();
    return sqliteAloneSequential(s.sqlitePath, s.n);
  }
  if (s.kind === 'lib-bulk') {
    const jobq = new Jobq({ store });
    observe(jobq, s);
    if (!s.keepFile) await preload(jobq, WARM_UP); // untimed, as above
    const t0 = performance.now();
    await preload(jobq, s.n);
    const ms = performance.now() - t0;
    await jobq.close();
    return { jobsPerSec: (s.n / ms) * 1000, elapsedMs: ms };
  }
  if (s.kind === 'drain') {
    let handled = 0;
    let allHandled!: () => void;
    const handledAll = new Promise<void>((r) => (allHandled = r));
    const jobq = new Jobq({
      store,
      queues: { default: { concurrency: s.concurrency } },
      handlers: { noop: () => void (++handled === s.n && allHandled()) },
    });
    observe(jobq, s);
    if (!s.preloaded) await preload(jobq, s.n);
    const t0 = performance.now();
    jobq.startWorkers();
    await handledAll;
    await jobq.stop(); // returns once every completion is committed
    const ms = performance.now() - t0;
    const completed = (await jobq.queues.list()).queues.find((q) => q.name === 'default')?.counts.completed ?? 0;
    await jobq.close();
    if (completed !== s.n) throw new Error(`drain finished with ${completed} of ${s.n} completed`);
    return { jobsPerSec: (s.n / ms) * 1000, elapsedMs: ms, peakRssMB: peakRssMB() };
  }
  // latency: open loop at `rate` jobs/s against running workers.
  const startDelays: number[] = [];
  let seen = 0;
  let allSeen!: () => void;
  const seenAll = new Promise<void>((r) => (allSeen = r));
  const jobq = new Jobq({
    store,
    queues: { default: { concurrency: s.concurrency } },
    handlers: {
      noop: (job) => {
        const t = (job.payload as { t?: number }).t;
        if (t !== undefined) {
          startDelays.push(nowMs() - t);
          if (++seen === s.n) allSeen();
        }
      },
    },
  });
  observe(jobq, s);
  jobq.startWorkers();
  for (let i = 0; i < 50; i++) await jobq.enqueue({ type: 'noop', payload: {} }); // warm-up
  const interval = 1000 / (s.rate ?? 100);
  const t0 = performance.now();
  for (let i = 0; i < s.n; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    void jobq.enqueue({ type: 'noop', payload: { t: nowMs() } });
  }
  await seenAll;
  await jobq.close();
  const st = summarize(startDelays);
  return { p50Ms: st.p50, p99Ms: st.p99, maxMs: st.max, peakRssMB: peakRssMB() };
}

const scenario = JSON.parse(process.argv[2] ?? '{}') as LibraryScenario;
run(scenario).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
