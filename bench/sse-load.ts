/**
 * What 1,000 event-stream subscribers cost HTTP enqueue throughput.
 *
 * `jobq serve` (SQLite, no workers on the enqueued queue, as in `npm run bench`)
 * takes single-job enqueues from wrk (50 connections) with no subscriber, then
 * with SSE_CLIENTS subscribers connected from this process, rounds alternating
 * so that drift on a shared machine hits both sides alike. Subscriber kinds:
 * - `job`: each follows one job id (what waitFor / `jobq status --wait` do);
 * - `stats`: each takes the per-second stats frames (dashboards, `jobq top`);
 * - `queue`: each follows a queue nobody enqueues to (a filtered live view);
 * - `all`: each takes every event (a firehose per client: the worst case).
 *
 *   npm run build && node dist/bench/sse-load.js            # job, stats, queue; 1,000 clients
 *   SSE_KINDS=all SSE_CLIENTS=100 node dist/bench/sse-load.js
 */
import { Agent, request, type ClientRequest } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startServeProcess } from './serve-process.js';
import { wrkAvailable, wrkPost } from './wrk-load.js';
import { median } from './stats.js';

const env = process.env;
const clients = Number(env.SSE_CLIENTS ?? 1000);
const kinds = (env.SSE_KINDS ?? 'job,stats,queue').split(',');
const seconds = Number(env.SSE_SECONDS ?? 8);
const rounds = Number(env.SSE_ROUNDS ?? 3);

interface Subscribers {
  bytes(): number;
  open(): number;
  close(): void;
}

async function subscribe(url: string, kind: string, n: number): Promise<Subscribers> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const target = new URL(url);
  let bytes = 0;
  let open = 0;
  const reqs: ClientRequest[] = [];
  const path = (i: number) =>
    kind === 'job' ? `/v1/events?jobId=${randomUUID()}` : kind === 'stats' ? '/v1/events?stats=1&events=0' : kind === 'queue' ? `/v1/events?queue=watched-${i % 10}` : '/v1/events';
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const req = request({ agent, host: target.hostname, port: target.port, path: path(i), headers: { accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`subscriber ${i}: HTTP ${res.statusCode}`));
          open++;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('close', () => open--);
          resolve();
        });
        req.on('error', () => resolve());
        req.end();
        reqs.push(req);
      }),
    ),
  );
  return { bytes: () => bytes, open: () => open, close: () => reqs.forEach((r) => r.destroy()) };
}

/** CPU seconds (user + system) a process used so far, from /proc (robust to other load on the machine, unlike throughput). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function round(kind: string | null): Promise<{ rps: number; bytes: number; open: number; cpuMsPer1k: number }> {
  const db = join(tmpdir(), `jobq-sse-bench-${process.pid}-${randomUUID()}.db`);
  const { child, url } = await startServeProcess(['--store', 'sqlite', '--sqlite-path', db, '--queues', 'idle']);
  try {
    const subs = kind ? await subscribe(url, kind, clients) : null;
    const cpu0 = cpuSeconds(child.pid!);
    const w = wrkPost(`${url}/v1/jobs`, 50, seconds);
    const cpuMsPer1k = ((cpuSeconds(child.pid!) - cpu0) * 1000 * 1000) / Math.max(1, w.requests);
    const out = { rps: w.requestsPerSec, bytes: subs?.bytes() ?? 0, open: subs?.open() ?? 0, cpuMsPer1k };
    subs?.close();
    return out;
  } finally {
    child.kill('SIGKILL');
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
}

if (!wrkAvailable()) {
  process.stderr.write('wrk not found: apt-get install wrk\n');
  process.exit(2);
}
process.stdout.write(`SSE cost on HTTP enqueue (SQLite, wrk 50 connections, ${seconds} s per run, ${rounds} rounds, ${clients} subscribers)\n`);
process.stdout.write('| subscribers | without | with | cost | server CPU per 1,000 enqueues, without / with | CPU cost | SSE bytes received | still connected |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
for (const kind of kinds) {
  const baseRuns: { rps: number; cpuMsPer1k: number }[] = [];
  const withSubs: { rps: number; bytes: number; open: number; cpuMsPer1k: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    baseRuns.push(await round(null));
    withSubs.push(await round(kind));
  }
  const base = baseRuns.map((x) => x.rps);
  const b = median(base);
  const w = median(withSubs.map((x) => x.rps));
  const bytes = median(withSubs.map((x) => x.bytes));
  const open = Math.min(...withSubs.map((x) => x.open));
  const cb = median(baseRuns.map((x) => x.cpuMsPer1k));
  const cw = median(withSubs.map((x) => x.cpuMsPer1k));
  process.stdout.write(`| ${clients} × ${kind} | ${Math.round(b).toLocaleString('en-US')} /s | ${Math.round(w).toLocaleString('en-US')} /s | ${(((b - w) / b) * 100).toFixed(1)} % | ${cb.toFixed(1)} / ${cw.toFixed(1)} ms | ${(((cw - cb) / cb) * 100).toFixed(1)} % | ${bytes.toLocaleString('en-US')} | ${open} |\n`);
}
