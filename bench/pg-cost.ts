/**
 * `npm run bench:pg-cost`: what jobq costs the Postgres server per job. For
 * 1, 2 and 4 `jobq worker` processes (concurrency 50 each) draining N
 * pre-loaded no-op jobs, the server's CPU seconds per 10,000 jobs processed:
 * utime + stime of every process of the Postgres cluster, read from /proc
 * (backends that exit meanwhile are counted through the postmaster's cutime +
 * cstime; pg-server.ts). The preload is vacuumed and analyzed before the
 * window; the window opens after a checkpoint and closes after a VACUUM of
 * what the drain left. Rounds interleaved, medians.
 *
 * Needs a Postgres on this machine whose processes we can read:
 * BENCH_PG_URL (default the peers harness's postgres://bench:bench@127.0.0.1:5432/bench).
 * Settings: BENCH_PG_COST_N (20000), BENCH_ROUNDS (3), BENCH_PG_COST_NODES (1,2,4).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Jobq } from '../src/core/jobq.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { dropSchema, postmasterPid, serverCpuOf, vacuumSchema } from './pg-server.js';
import { CLI } from './serve-process.js';
import { median } from './stats.js';

const env = process.env;
const url = env.BENCH_PG_URL ?? 'postgres://bench:bench@127.0.0.1:5432/bench';
const n = Number(env.BENCH_PG_COST_N ?? 20_000);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const nodeCounts = (env.BENCH_PG_COST_NODES ?? '1,2,4').split(',').map(Number);
const SCHEMA = 'jobq_pg_cost';
const log = (msg: string) => process.stderr.write(`${msg}\n`);

async function drain(postmaster: number, nodes: number): Promise<{ cpuPer10k: number; jobsPerSec: number }> {
  await dropSchema(url, SCHEMA);
  const store = await PostgresStore.open({ connectionString: url, schema: SCHEMA });
  const jobq = new Jobq({ store });
  for (let done = 0; done < n; done += 1000) await jobq.enqueueMany(Array.from({ length: Math.min(1000, n - done) }, (_, i) => ({ type: 'noop', payload: { seq: done + i } })));
  await store.queueSetPaused({ name: 'default', paused: true, maxQueues: 10_000, now: Date.now() });
  // The preload's own upkeep (its autovacuum and statistics) done before the window, not inside it.
  await vacuumSchema(url, SCHEMA, true);
  const handlers = fileURLToPath(new URL('./noop-handlers.js', import.meta.url));
  const children = Array.from({ length: nodes }, () =>
    spawn(process.execPath, [CLI, 'worker', '--store', 'postgres', '--database-url', url, '--pg-schema', SCHEMA, '--handlers', handlers, '--concurrency', '50', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  try {
    await Promise.all(children.map((ch) => new Promise<void>((resolve, reject) => {
      ch.stdout.on('data', (d: Buffer) => d.toString().includes('"worker":"running"') && resolve());
      ch.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    })));
    // Done when no job is left pending or running: a probe of two partial indexes. Counting the
    // queue's jobs instead (the queue list) cost the server 14 ms a look at 20,000 rows: a third of
    // what this bench measured until 2026-11-29.
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    const unfinished = `SELECT 1 FROM "${SCHEMA}".jobs WHERE status = 'pending' UNION ALL SELECT 1 FROM "${SCHEMA}".jobs WHERE status = 'processing' LIMIT 1`;
    let ms = 0;
    const cpu = await serverCpuOf(url, postmaster, SCHEMA, async () => {
      const t0 = performance.now();
      await store.queueSetPaused({ name: 'default', paused: false, maxQueues: 10_000, now: Date.now() });
      while ((await probe.query(unfinished)).rowCount !== 0) await new Promise((r) => setTimeout(r, 20));
      ms = performance.now() - t0;
    });
    await probe.end();
    const q = (await store.queueList({ limit: 1000 })).find((x) => x.name === 'default');
    if (q?.counts.completed !== n) throw new Error(`drain ended with ${q?.counts.completed ?? 0} of ${n} completed`);
    return { cpuPer10k: (cpu / n) * 10_000, jobsPerSec: (n / ms) * 1000 };
  } finally {
    for (const ch of children) ch.kill('SIGKILL');
    await jobq.close();
    await dropSchema(url, SCHEMA);
  }
}

const postmaster = await postmasterPid(url);
log(`pg cost bench: N=${n}, rounds ${rounds}, nodes ${nodeCounts.join(',')}, postmaster ${postmaster}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const results = new Map<number, { cpuPer10k: number; jobsPerSec: number }[]>();
for (let r = 1; r <= rounds; r++) {
  for (const nodes of nodeCounts) {
    const res = await drain(postmaster, nodes);
    (results.get(nodes) ?? results.set(nodes, []).get(nodes)!).push(res);
    log(`  round ${r}, ${nodes} node(s): ${res.cpuPer10k.toFixed(2)} s of Postgres CPU per 10,000 jobs, ${Math.round(res.jobsPerSec)} jobs/s`);
  }
}
const lines = ['| worker nodes (× concurrency 50) | Postgres CPU s per 10,000 jobs (median) | jobs/s (median) |', '| ---: | ---: | ---: |'];
for (const [nodes, rs] of results) lines.push(`| ${nodes} | ${median(rs.map((x) => x.cpuPer10k)).toFixed(2)} | ${Math.round(median(rs.map((x) => x.jobsPerSec))).toLocaleString('en-US')} |`);
process.stdout.write(`${lines.join('\n')}\n`);
