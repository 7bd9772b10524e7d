/**
 * `npm run bench:keyed`: issue #11's cost of unique keys on the HTTP path.
 * Single-job `POST /v1/jobs` on durable SQLite under wrk (-t2 -c50), keyless
 * against a unique key on every job (each one new, so every enqueue passes
 * through the active-key index and none is deduplicated). A fresh server
 * and file per round, kinds alternating so drift on a shared machine hits
 * both alike (BENCH_ROUNDS, default 3; BENCH_WRK_SECONDS, default 10); then
 * the count check: every acknowledged enqueue is one stored job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServeProcess, storedJobs } from './serve-process.js';
import { wrkAvailable, wrkPost, type WrkResult } from './wrk-load.js';
import { median, fmt } from './stats.js';

const env = process.env;
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const seconds = Number(env.BENCH_WRK_SECONDS ?? 10);
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const work = mkdtempSync(join(tmpdir(), 'jobq-bench-keyed-'));

if (!wrkAvailable()) throw new Error('wrk is not installed (apt-get install wrk)');

async function round(keyed: boolean, r: number): Promise<WrkResult & { lost: number }> {
  const db = join(work, `jobs-${keyed ? 'keyed' : 'keyless'}-${r}.db`);
  const { child, url } = await startServeProcess(['--store', 'sqlite', '--sqlite-path', db, '--queues', 'idle']);
  try {
    wrkPost(`${url}/v1/jobs`, 50, 1, { keyed }); // warm-up
    const before = await storedJobs(url);
    const w = wrkPost(`${url}/v1/jobs`, 50, seconds, { keyed });
    const acked = w.requests - w.non2xx;
    // wrk leaves out requests still in flight when it stops (stored, not counted): never below 0.
    return { ...w, lost: Math.max(0, acked - ((await storedJobs(url)) - before)) };
  } finally {
    child.kill('SIGKILL');
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
}

log(`keyed HTTP enqueue bench: ${rounds} rounds × ${seconds} s, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const runs: Record<'keyless' | 'keyed', (WrkResult & { lost: number })[]> = { keyless: [], keyed: [] };
try {
  for (let r = 1; r <= rounds; r++) {
    for (const kind of ['keyless', 'keyed'] as const) {
      const run = await round(kind === 'keyed', r);
      runs[kind].push(run);
      log(`  round ${r} ${kind}: ${fmt(run.requestsPerSec)} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, non-2xx ${run.non2xx}, lost or duplicate ${run.lost}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const keyless = median(runs.keyless.map((r) => r.requestsPerSec));
const lines = ['| enqueue (SQLite, fsync on, 50 connections) | req/s (median) | of keyless | p50 / p99 ms | non-2xx | lost or duplicate |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
for (const kind of ['keyless', 'keyed'] as const) {
  const rs = runs[kind];
  const m = median(rs.map((r) => r.requestsPerSec));
  lines.push(`| ${kind === 'keyed' ? 'a unique key on every job' : 'no key'} | ${fmt(m)} | ${((m / keyless) * 100).toFixed(1)} % | ${median(rs.map((r) => r.p50Ms))} / ${median(rs.map((r) => r.p99Ms))} | ${rs.reduce((a, r) => a + r.non2xx, 0)} | ${rs.reduce((a, r) => a + r.lost, 0)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
