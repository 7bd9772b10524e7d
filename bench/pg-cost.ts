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
 * BENCH_PG_COST_AGAINST=<another checkout, built>: the same drains of that
 * build's store and `jobq worker`, alternated with this one's in each round,
 * and this build's figures as a ratio of that one's (issue #15: "halve it",
 * against the build that first printed it, f08b623). Builds that old cannot
 * pause a queue, so in this mode every window opens before the workers start
 * and takes in their start as well.
 *
 * Needs a Postgres on this machine whose processes we can read:
 * BENCH_PG_URL (default the peers harness's postgres://bench:bench@127.0.0.1:5432/bench).
 * Settings: BENCH_PG_COST_N (20000), BENCH_ROUNDS (3), BENCH_PG_COST_NODES (1,2,4).
 * Prints a table; writes bench/results/pg-cost.json (every run).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { dropSchema, postmasterPid, serverCpuOf, vacuumSchema } from './pg-server.js';
import { median, writeResult } from './stats.js';

const env = process.env;
const url = env.BENCH_PG_URL ?? 'postgres://bench:bench@127.0.0.1:5432/bench';
const n = Number(env.BENCH_PG_COST_N ?? 20_000);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const nodeCounts = (env.BENCH_PG_COST_NODES ?? '1,2,4').split(',').map(Number);
const SCHEMA = 'jobq_pg_cost';
const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** A checkout whose compiled store and CLI a drain runs. */
interface Build {
  label: string;
  root: string;
}

const here: Build = { label: 'this build', root: fileURLToPath(new URL('../..', import.meta.url)) };
const against: Build | null = env.BENCH_PG_COST_AGAINST ? { label: commitOf(resolve(env.BENCH_PG_COST_AGAINST)), root: resolve(env.BENCH_PG_COST_AGAINST) } : null;

function commitOf(root: string): string {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return root;
  }
}

interface Drained {
  cpuPer10k: number;
  jobsPerSec: number;
}

/** Whether the queue can be paused while the workers start: this build, alone. */
const pauseWhileStarting = against === null;

async function drain(build: Build, postmaster: number, nodes: number): Promise<Drained> {
  const { Jobq } = await import(`${build.root}/dist/src/core/jobq.js`);
  const { PostgresStore } = await import(`${build.root}/dist/src/storage/postgres/postgres-store.js`);
  await dropSchema(url, SCHEMA);
  const store = await PostgresStore.open({ connectionString: url, schema: SCHEMA });
  const jobq = new Jobq({ store });
  for (let done = 0; done < n; done += 1000) await jobq.enqueueMany(Array.from({ length: Math.min(1000, n - done) }, (_, i) => ({ type: 'noop', payload: { seq: done + i } })));
  const setPaused = (paused: boolean) => store.queueSetPaused({ name: 'default', paused, maxQueues: 10_000, now: Date.now() });
  if (pauseWhileStarting) await setPaused(true);
  // The preload's own upkeep (its autovacuum and statistics) done before the window, not inside it.
  await vacuumSchema(url, SCHEMA, true);
  let children: ChildProcess[] = [];
  /** The worker processes, started and running. */
  const startWorkers = async () => {
    children = Array.from({ length: nodes }, () =>
      spawn(process.execPath, [`${build.root}/dist/src/cli/main.js`, 'worker', '--store', 'postgres', '--database-url', url, '--pg-schema', SCHEMA, '--handlers', `${build.root}/dist/bench/noop-handlers.js`, '--concurrency', '50', '--log-level', 'warn'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    await Promise.all(children.map((ch) => new Promise<void>((resolve, reject) => {
      ch.stdout!.on('data', (d: Buffer) => d.toString().includes('"worker":"running"') && resolve());
      ch.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    })));
  };
  // What opens the window: the queue resumed under workers already running, or (against an older build) the workers' start.
  const open = pauseWhileStarting ? () => setPaused(false) : startWorkers;
  try {
    if (pauseWhileStarting) await startWorkers();
    // Done when no job is left pending or running: a probe of two partial indexes. Counting the
    // queue's jobs instead (the queue list) cost the server 14 ms a look at 20,000 rows: a third of
    // what this bench measured until 2026-11-29.
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    const unfinished = `SELECT 1 FROM "${SCHEMA}".jobs WHERE status = 'pending' UNION ALL SELECT 1 FROM "${SCHEMA}".jobs WHERE status = 'processing' LIMIT 1`;
    let ms = 0;
    const cpu = await serverCpuOf(url, postmaster, SCHEMA, async () => {
      const t0 = performance.now();
      await open();
      while ((await probe.query(unfinished)).rowCount !== 0) await new Promise((r) => setTimeout(r, 20));
      ms = performance.now() - t0;
    });
    const { rows } = await probe.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${SCHEMA}".jobs WHERE status = 'completed'`);
    await probe.end();
    if (rows[0]!.n !== n) throw new Error(`drain ended with ${rows[0]!.n} of ${n} completed`);
    return { cpuPer10k: (cpu / n) * 10_000, jobsPerSec: (n / ms) * 1000 };
  } finally {
    for (const ch of children) ch.kill('SIGKILL');
    await jobq.close();
    await dropSchema(url, SCHEMA);
  }
}

const builds = against ? [here, against] : [here];
const postmaster = await postmasterPid(url);
log(`pg cost bench: N=${n}, rounds ${rounds}, nodes ${nodeCounts.join(',')}, ${builds.map((b) => `${b.label} (${b.root})`).join(' against ')}, postmaster ${postmaster}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const results = new Map<string, Drained[]>();
/** Every drain of `build` with `nodes` worker processes so far. */
const drainsOf = (build: Build, nodes: number): Drained[] => {
  const key = `${build.label}/${nodes}`;
  return results.get(key) ?? results.set(key, []).get(key)!;
};
for (let r = 1; r <= rounds; r++) {
  for (const nodes of nodeCounts) {
    // Each round the other build goes first.
    for (const build of r % 2 === 1 ? builds : [...builds].reverse()) {
      const res = await drain(build, postmaster, nodes);
      drainsOf(build, nodes).push(res);
      log(`  round ${r}, ${build.label}, ${nodes} node(s): ${res.cpuPer10k.toFixed(2)} s of Postgres CPU per 10,000 jobs, ${Math.round(res.jobsPerSec)} jobs/s`);
    }
  }
}
const med = (build: Build, nodes: number, of: keyof Drained) => median(drainsOf(build, nodes).map((x) => x[of]));
const cells = (build: Build, nodes: number) => [med(build, nodes, 'cpuPer10k').toFixed(2), Math.round(med(build, nodes, 'jobsPerSec')).toLocaleString('en-US')];
const lines = against
  ? [
      `| worker nodes (× concurrency 50) | Postgres CPU s per 10,000 jobs: this build / ${against.label} (medians) | ratio | jobs/s: this build / ${against.label} |`,
      '| ---: | ---: | ---: | ---: |',
      ...nodeCounts.map((nodes) => {
        const [a, ar] = cells(here, nodes);
        const [b, br] = cells(against, nodes);
        return `| ${nodes} | ${a} / ${b} | ${(med(here, nodes, 'cpuPer10k') / med(against, nodes, 'cpuPer10k')).toFixed(2)}× | ${ar} / ${br} |`;
      }),
    ]
  : ['| worker nodes (× concurrency 50) | Postgres CPU s per 10,000 jobs (median) | jobs/s (median) |', '| ---: | ---: | ---: |', ...nodeCounts.map((nodes) => `| ${nodes} | ${cells(here, nodes).join(' | ')} |`)];
process.stdout.write(`${lines.join('\n')}\n`);
const runs = builds.map((b) => ({ build: b.label, root: b.root, byNodes: Object.fromEntries(nodeCounts.map((nodes) => [nodes, drainsOf(b, nodes)])) }));
writeResult('pg-cost', { n, rounds, windowFromWorkerStart: !pauseWhileStarting, runs });
