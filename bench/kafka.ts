/**
 * `npm run bench:kafka`: processing over Kafka dispatch against the store's
 * own claims (FOR UPDATE SKIP LOCKED), with 1, 2 and 3 worker processes, and
 * what each costs the Postgres server: its CPU seconds per 10,000 jobs, read
 * from /proc (utime + stime of the postmaster, its live backends and its
 * reaped children) before and after each run. Then enqueue-to-start latency
 * at a steady rate through each path. One sitting; compare ratios, not
 * absolute figures (the machine is shared and varies up to 3x).
 *
 * Each run: a fresh schema, the worker processes started and idle, then
 * BENCH_KAFKA_N jobs (default 20,000) enqueued in batches of 500 from this
 * process, timed until the store counts them all completed. BENCH_ROUNDS
 * (default 3) rounds, the two modes alternated within each; the table shows
 * medians, each round's CPU figure, and Kafka's CPU per job against SKIP
 * LOCKED's within each round. Prints a markdown table and writes
 * bench/results/kafka.json.
 * Settings: BENCH_KAFKA_N, BENCH_ROUNDS (3), BENCH_KAFKA_WORKERS (1,2,3), BENCH_KAFKA_MODES (store,kafka), BENCH_KAFKA_CONCURRENCY (50), BENCH_KAFKA_LAT_N
 * (1,000 jobs at 200/s), BENCH_PG_URL, KAFKA_BOOTSTRAP (else a broker of its own).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import { Jobq } from '../src/core/jobq.js';
import { kafkaDispatch } from '../src/kafka/dispatch.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { median, summarize } from './stats.js';

const env = process.env;
const N = Number(env.BENCH_KAFKA_N ?? 20_000);
const WORKER_COUNTS = (env.BENCH_KAFKA_WORKERS ?? '1,2,3').split(',').filter(Boolean).map(Number);
const CONCURRENCY = Number(env.BENCH_KAFKA_CONCURRENCY ?? 50);
const LAT_N = Number(env.BENCH_KAFKA_LAT_N ?? 1000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const MODES = (env.BENCH_KAFKA_MODES ?? 'store,kafka').split(',').filter(Boolean) as Mode[];
const WORKER = fileURLToPath(new URL('./kafka-worker.js', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('../../scripts/kafka/', import.meta.url));
const OUT = fileURLToPath(new URL('../../bench/results/kafka.json', import.meta.url));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

type Mode = 'store' | 'kafka';

/** CPU seconds of the Postgres server so far: postmaster and reaped children (fields 14-17), plus live backends (14-15). */
function postgresCpuSeconds(postmaster: number): number {
  const fields = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  const f = fields(postmaster);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const c = fields(Number(entry));
      if (Number(c[1]) === postmaster) ticks += Number(c[11]) + Number(c[12]);
    } catch {
      // exited meanwhile: its time moved to the postmaster's cutime/cstime
    }
  }
  return ticks / TICKS;
}

async function postmasterPid(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  // Read while the backend lives: its parent is the postmaster.
  const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  await c.end();
  return Number(stat[1]);
}

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

/**
 * Waits until the queue's consumer group is stable with all its members:
 * workers that just joined set off rebalances (every member stops fetching
 * for one), which would otherwise fall into the measured window.
 */
async function groupSettled(brokers: string, schema: string, members: number): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [brokers] });
  const group = `jobq.${schema}.default`;
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

interface Row {
  mode: Mode;
  workers: number;
  jobsPerSec: number;
  pgCpuSecPer10k: number;
  /** Committed transactions (statements outside BEGIN count one each) per 10,000 jobs: the round trips Postgres served. */
  pgTransactionsPer10k: number;
  elapsedMs: number;
}

async function transactions(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
  await c.end();
  return Number(rows[0]!.n);
}

async function throughput(url: string, postmaster: number, mode: Mode, workers: number, brokers: string): Promise<Row> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const api = await apiNode(url, schema, mode, brokers);
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(url, schema, mode, brokers)));
  try {
    if (mode === 'kafka') await groupSettled(brokers, schema, workers);
    const tx0 = await transactions(url);
    const cpu0 = postgresCpuSeconds(postmaster);
    const t0 = performance.now();
    for (let i = 0; i < N; i += 500) await api.enqueueMany(Array.from({ length: Math.min(500, N - i) }, () => ({ type: 'noop' })));
    await allCompleted(api, children, N);
    const elapsedMs = performance.now() - t0;
    const cpu = postgresCpuSeconds(postmaster) - cpu0;
    // pg_stat_database is updated when a backend reports (at most every 500 ms by default, and at idle): settle first.
    await new Promise((r) => setTimeout(r, 1500));
    const tx = (await transactions(url)) - tx0;
    return { mode, workers, jobsPerSec: (N / elapsedMs) * 1000, pgCpuSecPer10k: (cpu / N) * 10_000, pgTransactionsPer10k: Math.round((tx / N) * 10_000), elapsedMs };
  } finally {
    await stopWorkers(children);
    await api.close();
  }
}

/** Single enqueues at 200/s into 2 idle workers; startedAt - createdAt of each job, both stamped on this machine's clock. */
async function latency(url: string, mode: Mode, brokers: string): Promise<{ p50: number; p99: number; max: number }> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const api = await apiNode(url, schema, mode, brokers);
  const children = await Promise.all([startWorker(url, schema, mode, brokers), startWorker(url, schema, mode, brokers)]);
  try {
    if (mode === 'kafka') await groupSettled(brokers, schema, 2);
    // Warm-up, not measured: the first records after a group joins pay for topic metadata and connections.
    for (let i = 0; i < 50; i++) await api.enqueue({ type: 'noop' });
    await allCompleted(api, children, 50);
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < LAT_N; i++) {
      ids.push((await api.enqueue({ type: 'noop' })).id);
      const wait = t0 + (i + 1) * 5 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await allCompleted(api, children, LAT_N + 50);
    const jobs = await Promise.all(ids.map((id) => api.get(id)));
    if (env.BENCH_KAFKA_DEBUG) log(jobs.filter((j) => j!.startedAt! - j!.createdAt > 100).map((j) => `${j!.createdAt % 100_000}+${j!.startedAt! - j!.createdAt}`).join(' '));
    return summarize(jobs.map((j) => j!.startedAt! - j!.createdAt));
  } finally {
    await stopWorkers(children);
    await api.close();
  }
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
    for (let round = 1; round <= ROUNDS; round++) {
      for (const workers of WORKER_COUNTS) {
        for (const mode of MODES) {
          const r = await throughput(url, postmaster, mode, workers, brokers);
          log(`  round ${round}, ${mode} x${workers}: ${Math.round(r.jobsPerSec)} jobs/s, Postgres ${r.pgCpuSecPer10k.toFixed(2)} CPU s and ${r.pgTransactionsPer10k} transactions per 10k jobs`);
          rows.push(r);
        }
      }
    }
    const runsOf = (mode: Mode, workers: number) => rows.filter((r) => r.mode === mode && r.workers === workers);
    const medianOf = (runs: Row[], f: (r: Row) => number) => median(runs.map(f));
    // Kafka's CPU per job over SKIP LOCKED's, run against run of the same round.
    const ratios = (workers: number) => runsOf('kafka', workers).map((k, i) => k.pgCpuSecPer10k / (runsOf('store', workers)[i]?.pgCpuSecPer10k ?? NaN));
    const lat = { store: await latency(url, 'store', brokers), kafka: await latency(url, 'kafka', brokers) };
    const table = [
      `| dispatch | worker nodes | jobs/s (median of ${ROUNDS}) | Postgres CPU s per 10,000 jobs (median; each round) | Postgres transactions per 10,000 jobs | Kafka ÷ SKIP LOCKED CPU per job (each round) |`,
      '| --- | ---: | ---: | ---: | ---: | --- |',
      ...WORKER_COUNTS.flatMap((workers) =>
        MODES.map((mode) => {
          const runs = runsOf(mode, workers);
          const each = runs.map((r) => r.pgCpuSecPer10k.toFixed(2)).join(', ');
          const ratio = mode === 'kafka' && MODES.includes('store') ? ratios(workers).map((x) => `${x.toFixed(2)}×`).join(', ') : '';
          return `| ${mode === 'kafka' ? 'Kafka (consumer group)' : 'FOR UPDATE SKIP LOCKED'} | ${workers} | ${Math.round(medianOf(runs, (r) => r.jobsPerSec)).toLocaleString('en')} | ${medianOf(runs, (r) => r.pgCpuSecPer10k).toFixed(2)} (${each}) | ${Math.round(medianOf(runs, (r) => r.pgTransactionsPer10k)).toLocaleString('en')} | ${ratio} |`;
        }),
      ),
      '',
      `| enqueue → start, ${LAT_N} single enqueues at 200/s, 2 worker nodes | p50 ms | p99 ms | max ms |`,
      '| --- | ---: | ---: | ---: |',
      `| FOR UPDATE SKIP LOCKED (LISTEN/NOTIFY wake-ups) | ${lat.store.p50} | ${lat.store.p99} | ${lat.store.max} |`,
      `| Kafka (outbox → relay → consumer group) | ${lat.kafka.p50} | ${lat.kafka.p99} | ${lat.kafka.max} |`,
    ].join('\n');
    console.log(table);
    mkdirSync(fileURLToPath(new URL('.', `file://${OUT}`)), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), n: N, rounds: ROUNDS, concurrency: CONCURRENCY, cores: cpus().length, rows, latency: lat }, null, 2)}\n`);
    log(`wrote ${OUT}`);
  } finally {
    if (cluster) await cluster.destroy();
    if (ownBroker) execFileSync('bash', [`${SCRIPTS}stop.sh`], { env: kafkaEnv });
  }
}

await main();
