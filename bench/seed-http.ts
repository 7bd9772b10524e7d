/**
 * `npm run bench:seed`: the seed's own HTTP row. Single-job `POST /enqueue`
 * driven by wrk (-t2 -c50, BENCH_WRK_SECONDS, default 10) against the seed's
 * Go server (bench/seed-go, in memory, its channel raised so it never blocks)
 * and `jobq serve` on durable SQLite (every 2xx fsynced), rounds interleaved
 * (BENCH_ROUNDS, default 3), medians reported. After every jobq round the
 * count check: every acknowledged enqueue is its own stored row (a lost job or
 * a duplicate id would make stored < acknowledged).
 *
 * Needs `go` and `wrk` on the PATH. Extra `jobq serve` flags for the jobq runs:
 * BENCH_SEED_JOBQ_ARGS (e.g. "--http-processes 2"); BENCH_SEED_MEMORY=1 adds
 * jobq on the memory store as a column.
 *
 * Beside them, the floor: node:http alone answering the same request and
 * storing nothing (node-http-floor.ts), in one process and in two sharing
 * the port, what any Node server can reach on this machine under this load.
 * BENCH_SEED_FLOOR=0 leaves those columns out.
 * Prints a table; writes bench/results/seed-http.json (every run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServeProcess, storedJobs } from './serve-process.js';
import { wrkAvailable, wrkPost, type WrkResult } from './wrk-load.js';
import { median, fmt, writeResult } from './stats.js';

const env = process.env;
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const seconds = Number(env.BENCH_WRK_SECONDS ?? 10);
const extra = (env.BENCH_SEED_JOBQ_ARGS ?? '').split(' ').filter(Boolean);
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const work = mkdtempSync(join(tmpdir(), 'jobq-bench-seed-'));
const SEED_SRC = fileURLToPath(new URL('../../bench/seed-go/', import.meta.url));

if (!wrkAvailable()) throw new Error('wrk is not installed (apt-get install wrk)');
const goBin = join(work, 'seed-go');
const built = spawnSync('go', ['build', '-o', goBin, '.'], { cwd: SEED_SRC, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`go build failed: ${built.stderr || built.error}`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startGo(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(goBin, ['-addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`seed server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

const FLOOR = fileURLToPath(new URL('./node-http-floor.js', import.meta.url));

/** node:http alone (node-http-floor.ts) in `processes` processes. */
async function runFloor(processes: number): Promise<Run> {
  const port = await freePort();
  const child = spawn(process.execPath, [FLOOR, String(port), String(processes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      child.on('exit', (code) => reject(new Error(`node:http floor server exited with ${code}`)));
    });
    return timedStoringNothing(`http://127.0.0.1:${port}`);
  } finally {
    // SIGTERM, not SIGKILL: the cluster's workers exit once their primary's channel closes.
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

interface Run extends WrkResult {
  acked: number;
  stored: number;
  lost: number;
}

/** The warm-up, then the timed run, against a server that keeps no count of what it stored. */
function timedStoringNothing(url: string): Run {
  wrkPost(`${url}/enqueue`, 50, 1); // warm-up
  const w = wrkPost(`${url}/enqueue`, 50, seconds);
  return { ...w, acked: w.requests - w.non2xx, stored: NaN, lost: NaN };
}

async function runGo(): Promise<Run> {
  const { child, url } = await startGo();
  try {
    return timedStoringNothing(url);
  } finally {
    child.kill('SIGKILL');
  }
}

async function runJobq(store: 'sqlite' | 'memory', round: number): Promise<Run> {
  const db = join(work, `jobs-${store}-${round}.db`);
  const { child, url } = await startServeProcess(['--store', store, '--sqlite-path', db, '--queues', 'idle', '--memory-max-jobs', '10000000', ...extra]);
  try {
    wrkPost(`${url}/enqueue`, 50, 1); // warm-up
    const before = await storedJobs(url);
    const w = wrkPost(`${url}/enqueue`, 50, seconds);
    const acked = w.requests - w.non2xx;
    const stored = (await storedJobs(url)) - before;
    return { ...w, acked, stored, lost: Math.max(0, acked - stored) };
  } finally {
    child.kill('SIGKILL');
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
}

const FLOOR_COLUMNS: Record<string, number> = env.BENCH_SEED_FLOOR === '0' ? {} : { 'node:http alone, 1 process': 1, 'node:http alone, 2 processes': 2 };
const columns = ['seed (Go)', 'jobq SQLite', ...(env.BENCH_SEED_MEMORY === '1' ? ['jobq memory'] : []), ...Object.keys(FLOOR_COLUMNS)];
const runs: Record<string, Run[]> = Object.fromEntries(columns.map((c) => [c, []]));
log(`seed HTTP bench: ${rounds} rounds × ${seconds} s, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, jobq args: ${extra.join(' ') || '(none)'}`);
try {
  for (let r = 1; r <= rounds; r++) {
    for (const c of columns) {
      const run = c === 'seed (Go)' ? await runGo() : c in FLOOR_COLUMNS ? await runFloor(FLOOR_COLUMNS[c]!) : await runJobq(c === 'jobq SQLite' ? 'sqlite' : 'memory', r);
      runs[c]!.push(run);
      log(`  round ${r} ${c}: ${fmt(run.requestsPerSec)} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, errors ${run.non2xx + run.socketErrors}${Number.isNaN(run.stored) ? '' : `, acked ${run.acked}, stored ${run.stored}, lost or duplicate ${run.lost}`}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const go = median(runs['seed (Go)']!.map((r) => r.requestsPerSec));
const lines = ['| server | req/s (median) | min–max | ratio to seed | p50 / p99 ms | lost or duplicate |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
for (const c of columns) {
  const rs = runs[c]!;
  const rps = rs.map((r) => r.requestsPerSec);
  const m = median(rps);
  lines.push(`| ${c} | ${fmt(m)} | ${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))} | ${(m / go).toFixed(2)}× | ${median(rs.map((r) => r.p50Ms))} / ${median(rs.map((r) => r.p99Ms))} | ${c.startsWith('jobq') ? rs.reduce((a, r) => a + r.lost, 0) : '—'} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
writeResult('seed-http', { rounds, seconds, jobqArgs: extra, runs });
log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
