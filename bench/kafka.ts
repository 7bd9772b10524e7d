/**
 * `npm run bench:kafka`: processing over Kafka dispatch against the store's
 * own claims (FOR UPDATE SKIP LOCKED), with 1, 2 and 3 worker processes, and
 * what each costs the Postgres server: its CPU seconds per 10,000 jobs, read
 * from /proc (utime + stime of the postmaster, its live backends and its
 * reaped children) before and after each run. Two loads: a burst (as fast as
 * the workers go) and a steady rate (enqueue-to-start latency, and the cost
 * when every job is its own transactions). One sitting; compare ratios, not
 * absolute figures (the machine is shared and varies up to 3x).
 *
 * Each run: a fresh schema, the worker processes started and idle, a
 * checkpoint, then the jobs, timed until the store counts them all completed;
 * the CPU window closes after a VACUUM of the run's tables (their dead rows
 * are the run's cost), and the schema is dropped after it.
 * - Burst: BENCH_KAFKA_N jobs (20,000) enqueued in batches of 500 from this process.
 * - Steady: BENCH_KAFKA_LAT_N single enqueues (1,000; 0 skips these runs) at
 *   200/s, after 50 unmeasured ones.
 * BENCH_ROUNDS (3) rounds, the two modes alternated within each; the tables
 * show medians, each round's CPU figure, and Kafka's CPU per job against SKIP
 * LOCKED's within each round. Prints markdown tables and writes
 * bench/results/kafka.json.
 * Settings: BENCH_KAFKA_N, BENCH_ROUNDS, BENCH_KAFKA_WORKERS (1,2,3), BENCH_KAFKA_MODES (store,kafka), BENCH_KAFKA_CONCURRENCY (50), BENCH_KAFKA_LAT_N,
 * BENCH_PG_URL, KAFKA_BOOTSTRAP (else a broker of its own), BENCH_KAFKA_DEBUG (print each steady
 * run's jobs that waited over 60 ms, under Kafka split at their record's send: logSlowJobs).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import type { Job } from '../src/contracts/job.js';
import { Jobq } from '../src/core/jobq.js';
import { kafkaDispatch } from '../src/kafka/dispatch.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { dropSchema, once, postmasterPid, serverCpuOf } from './pg-server.js';
import { recordTimes, recordTimesGroup, type RecordTime } from './kafka-record-times.js';
import { fmt, median, summarize, writeResult } from './stats.js';

const env = process.env;
const N = Number(env.BENCH_KAFKA_N ?? 20_000);
const WORKER_COUNTS = (env.BENCH_KAFKA_WORKERS ?? '1,2,3').split(',').filter(Boolean).map(Number);
const CONCURRENCY = Number(env.BENCH_KAFKA_CONCURRENCY ?? 50);
const LAT_N = Number(env.BENCH_KAFKA_LAT_N ?? 1000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const MODES = (env.BENCH_KAFKA_MODES ?? 'store,kafka').split(',').filter(Boolean) as Mode[];
const WORKER = fileURLToPath(new URL('./kafka-worker.js', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('../../scripts/kafka/', import.meta.url));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

type Mode = 'store' | 'kafka';

interface Worker {
  child: ChildProcess;
  /** Handler calls the worker reported so far. */
  ran: number;
}

function startWorker(url: string, schema: string, mode: Mode, brokers: string): Promise<Worker> {
  const child = spawn(process.execPath, [WORKER, url, schema, mode, brokers, String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const worker: Worker = { child, ran: 0 };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve(worker);
      else if (line.startsWith('ran ')) worker.ran = Number(line.slice(4));
    });
    child.on('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
  });
}

/**
 * Until the workers have run `n` handlers (read from their output, not from
 * Postgres, whose CPU is being measured), then until the store counts `n`
 * completed: a few queries at the end instead of one every 25 ms all along.
 */
async function allCompleted(api: Jobq, workers: Worker[], n: number): Promise<void> {
  while (workers.reduce((sum, w) => sum + w.ran, 0) < n) await new Promise((r) => setTimeout(r, 10));
  while ((await completed(api)) < n) await new Promise((r) => setTimeout(r, 25));
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map(({ child: c }) => new Promise<void>((resolve) => {
    if (c.exitCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  })));
}

async function apiNode(url: string, schema: string, mode: Mode, brokers: string): Promise<Jobq> {
  const store = await PostgresStore.open({ connectionString: url, schema });
  const jobq = new Jobq({ store, queues: {}, ...(mode === 'kafka' && { dispatch: kafkaDispatch({ brokers: [brokers] }) }) });
  await jobq.start();
  return jobq;
}

/** A run's topic for its queue `default`, which is also the id of its consumer group (kafka/queue-dispatcher.ts). */
const runTopic = (schema: string) => `jobq.${schema}.default`;

/**
 * Waits until the queue's consumer group is stable with all its members:
 * workers that just joined set off rebalances (every member stops fetching
 * for one), which would otherwise fall into the measured window.
 */
async function groupSettled(brokers: string, schema: string, members: number): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [brokers] });
  const group = runTopic(schema);
  try {
    for (let stableSince = 0; ; ) {
      const g = (await admin.describeGroups({ groups: [group] })).get(group);
      const stable = g?.state === 'STABLE';
      if (stable && g!.members.size === members) {
        stableSince ||= Date.now();
        // Stable for two heartbeats: no join is still under way.
        if (Date.now() - stableSince > 2000) return;
      } else stableSince = 0;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.close();
  }
}

async function completed(jobq: Jobq): Promise<number> {
  return (await jobq.queues.list()).queues.find((q) => q.name === 'default')?.counts.completed ?? 0;
}

/** What the Postgres server spent on a run, per 10,000 of its jobs. */
interface Cost {
  pgCpuSecPer10k: number;
  /** Committed transactions (statements outside BEGIN count one each) per 10,000 jobs, as reported so far (approximate, see costOf). */
  pgTransactionsPer10k: number;
}

interface Row extends Cost {
  mode: Mode;
  workers: number;
  jobsPerSec: number;
  elapsedMs: number;
}

interface SteadyRow extends Cost {
  mode: Mode;
  workers: number;
  /** enqueue → start, ms */
  p50: number;
  p99: number;
  max: number;
}

async function transactions(url: string): Promise<number> {
  const rows = await once<{ n: string }>(url, 'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]!.n);
}

/**
 * The server's CPU and transactions over `work` and the VACUUM of the run's
 * schema after it, per 10,000 of its `n` jobs; a checkpoint just before.
 */
async function costOf(url: string, postmaster: number, schema: string, n: number, work: () => Promise<void>): Promise<Cost> {
  const tx0 = await transactions(url);
  const cpu = await serverCpuOf(url, postmaster, schema, work);
  // pg_stat_database counts what backends have reported: since Postgres 15 a busy backend reports at most once a
  // second and an idle one within 10 s, so this count is approximate (a second's worth may fall in the next run).
  await new Promise((r) => setTimeout(r, 1500));
  const tx = (await transactions(url)) - tx0;
  return { pgCpuSecPer10k: (cpu / n) * 10_000, pgTransactionsPer10k: Math.round((tx / n) * 10_000) };
}

/** A fresh schema, its API node and `workers` idle worker processes (a settled consumer group over Kafka) for `run`; all gone after. */
async function withNodes<T>(url: string, mode: Mode, workers: number, brokers: string, run: (schema: string, api: Jobq, children: Worker[]) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const api = await apiNode(url, schema, mode, brokers);
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(url, schema, mode, brokers)));
  try {
    if (mode === 'kafka') await groupSettled(brokers, schema, workers);
    return await run(schema, api, children);
  } finally {
    await stopWorkers(children);
    await api.close();
    await dropSchema(url, schema);
    if (mode === 'kafka') await deleteRunTopic(brokers, schema);
  }
}

/**
 * The run's topic and consumer groups, deleted after it. A broker left holding every earlier
 * run's partitions (12 a run) began to stall for 300-500 ms once or twice a run after a few
 * hundred, on this machine's one disk (docs/kafka.md).
 */
async function deleteRunTopic(brokers: string, schema: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [brokers] });
  const topic = runTopic(schema);
  try {
    // The debug read's group exists only when it ran.
    for (const group of [topic, recordTimesGroup(topic)]) await admin.deleteGroups({ groups: [group] }).catch(() => {});
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.close();
  }
}

/** N jobs enqueued in batches of 500 into idle workers, until all are completed. */
function throughput(url: string, postmaster: number, mode: Mode, workers: number, brokers: string): Promise<Row> {
  return withNodes(url, mode, workers, brokers, async (schema, api, children) => {
    let elapsedMs = 0;
    const cost = await costOf(url, postmaster, schema, N, async () => {
      const t0 = performance.now();
      for (let i = 0; i < N; i += 500) await api.enqueueMany(Array.from({ length: Math.min(500, N - i) }, () => ({ type: 'noop' })));
      await allCompleted(api, children, N);
      elapsedMs = performance.now() - t0;
    });
    return { mode, workers, jobsPerSec: (N / elapsedMs) * 1000, elapsedMs, ...cost };
  });
}

/**
 * Single enqueues at 200/s into idle workers: startedAt - createdAt of each
 * job (both stamped on this machine's clock), and what the server spent at
 * that steady rate, where each job is its own transactions and every wake-up
 * counts (SKIP LOCKED wakes every node; Kafka hands a record to one).
 */
function steady(url: string, postmaster: number, mode: Mode, workers: number, brokers: string): Promise<SteadyRow> {
  return withNodes(url, mode, workers, brokers, async (schema, api, children) => {
    // Warm-up, not measured: the first records after a group joins pay for topic metadata and connections.
    for (let i = 0; i < 50; i++) await api.enqueue({ type: 'noop' });
    await allCompleted(api, children, 50);
    const ids: string[] = [];
    const cost = await costOf(url, postmaster, schema, LAT_N, async () => {
      const t0 = performance.now();
      for (let i = 0; i < LAT_N; i++) {
        ids.push((await api.enqueue({ type: 'noop' })).id);
        const wait = t0 + (i + 1) * 5 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await allCompleted(api, children, LAT_N + 50);
    });
    const jobs = await Promise.all(ids.map((id) => api.get(id)));
    if (env.BENCH_KAFKA_DEBUG) await logSlowJobs(jobs as Job[], mode, brokers, schema);
    return { mode, workers, ...summarize(jobs.map((j) => j!.startedAt! - j!.createdAt)), ...cost };
  });
}

/**
 * BENCH_KAFKA_DEBUG: each job that waited more than 60 ms, as `created:send+ms:start+ms:P<partition>`
 * (created in ms modulo 100 s; under Kafka the wait split at its record's send, recordTimes()).
 */
async function logSlowJobs(jobs: Job[], mode: Mode, brokers: string, schema: string): Promise<void> {
  const slow = jobs.filter((j) => j.startedAt! - j.createdAt > 60);
  const sent = mode === 'kafka' && slow.length > 0 ? await recordTimes(brokers, runTopic(schema), jobs.length + 50) : new Map<string, RecordTime>();
  const split = (j: Job) => {
    const r = sent.get(j.id);
    return r ? `send+${r.sentAt - j.createdAt}:start+${j.startedAt! - r.sentAt}:P${r.partition}` : `start+${j.startedAt! - j.createdAt}`;
  };
  log(`  ${mode} waits over 60 ms: ${slow.map((j) => `${j.createdAt % 100_000}:${split(j)}`).join(' ') || 'none'}`);
}

function runsOf<R extends { mode: Mode; workers: number }>(rows: R[], mode: Mode, workers: number): R[] {
  return rows.filter((r) => r.mode === mode && r.workers === workers);
}

function medianOf<R>(runs: R[], f: (r: R) => number): number {
  return median(runs.map(f));
}

/** Median CPU (each round's), median transactions, and Kafka's CPU per job over SKIP LOCKED's run against run of the same round. */
function costCells<R extends Cost & { mode: Mode; workers: number }>(rows: R[], mode: Mode, workers: number): string {
  const runs = runsOf(rows, mode, workers);
  const each = runs.map((r) => r.pgCpuSecPer10k.toFixed(2)).join(', ');
  const store = runsOf(rows, 'store', workers);
  const ratio = mode === 'kafka' && MODES.includes('store') ? runs.map((k, i) => `${(k.pgCpuSecPer10k / (store[i]?.pgCpuSecPer10k ?? NaN)).toFixed(2)}×`).join(', ') : '';
  return `${medianOf(runs, (r) => r.pgCpuSecPer10k).toFixed(2)} (${each}) | ${fmt(medianOf(runs, (r) => r.pgTransactionsPer10k))} | ${ratio}`;
}

async function main(): Promise<void> {
  let brokers = env.KAFKA_BOOTSTRAP ?? '';
  const ownBroker = !brokers;
  const kafkaEnv = { ...env, KAFKA_PORT: '19492', KAFKA_CONTROLLER_PORT: '19493' };
  if (ownBroker) brokers = execFileSync('bash', [`${SCRIPTS}start.sh`], { env: kafkaEnv }).toString().trim().split('=')[1]!;
  let url = env.BENCH_PG_URL ?? '';
  let cluster: { destroy(): Promise<void> } | null = null;
  if (!url) {
    const { startCluster } = await import('../test/helpers/postgres.js');
    const c = await startCluster();
    cluster = c;
    url = c.url;
  }
  try {
    const postmaster = await postmasterPid(url);
    log(`bench:kafka: ${N} no-op jobs per run, concurrency ${CONCURRENCY} per worker, ${cpus().length} cores, Postgres postmaster pid ${postmaster}, Kafka ${brokers}`);
    const rows: Row[] = [];
    const steadyRows: SteadyRow[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const workers of WORKER_COUNTS) {
        for (const mode of MODES) {
          const r = await throughput(url, postmaster, mode, workers, brokers);
          log(`  round ${round}, ${mode} x${workers}: ${Math.round(r.jobsPerSec)} jobs/s, Postgres ${r.pgCpuSecPer10k.toFixed(2)} CPU s and ${r.pgTransactionsPer10k} transactions per 10k jobs`);
          rows.push(r);
        }
      }
      for (const workers of LAT_N > 0 ? WORKER_COUNTS : []) {
        for (const mode of MODES) {
          const r = await steady(url, postmaster, mode, workers, brokers);
          log(`  round ${round}, ${mode} x${workers} at 200/s: p50 ${r.p50} p99 ${r.p99} max ${r.max} ms, Postgres ${r.pgCpuSecPer10k.toFixed(2)} CPU s and ${r.pgTransactionsPer10k} transactions per 10k jobs`);
          steadyRows.push(r);
        }
      }
    }
    const label = (mode: Mode) => (mode === 'kafka' ? 'Kafka (consumer group)' : 'FOR UPDATE SKIP LOCKED');
    const table = [
      `| dispatch | worker nodes | jobs/s (median of ${ROUNDS}) | Postgres CPU s per 10,000 jobs (median; each round) | Postgres transactions per 10,000 jobs | Kafka ÷ SKIP LOCKED CPU per job (each round) |`,
      '| --- | ---: | ---: | ---: | ---: | --- |',
      ...WORKER_COUNTS.flatMap((workers) =>
        MODES.map((mode) => `| ${label(mode)} | ${workers} | ${fmt(medianOf(runsOf(rows, mode, workers), (r) => r.jobsPerSec))} | ${costCells(rows, mode, workers)} |`),
      ),
      '',
      `| ${fmt(LAT_N)} single enqueues at 200/s | worker nodes | enqueue → start p50 / p99 / max ms (medians of ${ROUNDS}) | Postgres CPU s per 10,000 jobs (median; each round) | Postgres transactions per 10,000 jobs | Kafka ÷ SKIP LOCKED CPU per job (each round) |`,
      '| --- | ---: | ---: | ---: | ---: | --- |',
      ...(LAT_N > 0 ? WORKER_COUNTS : []).flatMap((workers) =>
        MODES.map((mode) => {
          const runs = runsOf(steadyRows, mode, workers);
          const ms = (f: (r: SteadyRow) => number) => medianOf(runs, f);
          return `| ${label(mode)} | ${workers} | ${ms((r) => r.p50)} / ${ms((r) => r.p99)} / ${ms((r) => r.max)} | ${costCells(steadyRows, mode, workers)} |`;
        }),
      ),
    ].join('\n');
    console.log(table);
    const out = writeResult('kafka', { n: N, steadyN: LAT_N, rounds: ROUNDS, concurrency: CONCURRENCY, cores: cpus().length, rows, steady: steadyRows });
    log(`wrote ${fileURLToPath(out)}`);
  } finally {
    if (cluster) await cluster.destroy();
    if (ownBroker) execFileSync('bash', [`${SCRIPTS}stop.sh`], { env: kafkaEnv });
  }
}

await main();
