/**
 * `npm run bench:remote`: remote workers (jobq/client's runWorker, in their
 * own process, over loopback HTTP) against in-process workers on the same
 * store (a SQLite file, fsync on), and HTTP enqueue with auth on against off.
 * One sitting; each pair of runs interleaved, medians reported, so the ratios
 * hold even on a machine that is busy with other things.
 *
 * Prints a markdown table and writes bench/results/remote-workers.json (and .md).
 * Settings: BENCH_REMOTE_N (jobs per drain, 20000), BENCH_ROUNDS (3),
 * BENCH_LAT_N (500), BENCH_WRK_SECONDS (5), BENCH_QUICK=1 (small N),
 * BENCH_ONLY (drain, latency or auth: that part alone), BENCH_CLAIMS_IN_FLIGHT
 * (the remote worker's claimsInFlight).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibraryScenario } from './library-child.js';
import { Agent, request } from 'node:http';
import { startServeProcess } from './serve-process.js';
import { summarize, median, fmt, nowMs } from './stats.js';

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const int = (name: string, dflt: number) => (env[name] ? Number.parseInt(env[name]!, 10) : dflt);
const cfg = {
  n: int('BENCH_REMOTE_N', quick ? 3000 : 20_000),
  rounds: int('BENCH_ROUNDS', quick ? 1 : 3),
  latN: int('BENCH_LAT_N', quick ? 100 : 500),
  wrkSeconds: int('BENCH_WRK_SECONDS', quick ? 2 : 5),
  concurrency: 50,
  only: env.BENCH_ONLY ?? 'all',
};
const LIB = fileURLToPath(new URL('./library-child.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./remote-worker-child.js', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'jobq-bench-remote-'));
let dbSeq = 0;
const freshDb = () => join(work, `jobs-${++dbSeq}.db`);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function library(s: Omit<LibraryScenario, 'store'>): Record<string, number> {
  const r = spawnSync(process.execPath, [LIB, JSON.stringify({ store: 'sqlite', ...s })], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`library scenario ${s.kind} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

/** Lines of a child's stdout, and a way to wait for one that matches. */
function lines(child: ChildProcess): (match: (line: string) => boolean) => Promise<string> {
  let buf = '';
  const seen: string[] = [];
  const waiting: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      seen.push(l);
      for (const w of waiting.splice(0)) (w.match(l) ? w.resolve(l) : waiting.push(w));
    }
  });
  return (match) => {
    const found = seen.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiting.push({ match, resolve });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
  };
}

function remoteWorker(url: string, kind: 'drain' | 'latency', n: number, token?: string) {
  const inFlight = env.BENCH_CLAIMS_IN_FLIGHT ? { claimsInFlight: Number(env.BENCH_CLAIMS_IN_FLIGHT) } : {};
  const child = spawn(process.execPath, [WORKER, JSON.stringify({ url, n, concurrency: cfg.concurrency, kind, ...inFlight, ...(token && { token }) })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, line: lines(child) };
}

async function post(url: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** In-process workers draining n preloaded no-op jobs at concurrency 50 (bench/run.ts's scenario). */
function inProcessDrain(): number {
  const sqlitePath = freshDb();
  library({ sqlitePath, kind: 'lib-bulk', n: cfg.n, concurrency: 1, keepFile: true });
  return library({ sqlitePath, kind: 'drain', n: cfg.n, concurrency: cfg.concurrency, preloaded: true }).jobsPerSec!;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; NaN elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The same jobs drained by one remote worker process at concurrency 50 through an API-only `jobq serve`; also the CPU each side spent per job. */
async function remoteDrain(): Promise<{ jobsPerSec: number; serverCpuUs: number; workerCpuUs: number }> {
  const sqlitePath = freshDb();
  library({ sqlitePath, kind: 'lib-bulk', n: cfg.n, concurrency: 1, keepFile: true });
  const { child: server, url } = await startServeProcess(['--sqlite-path', sqlitePath, '--no-workers']);
  try {
    // Paused until the worker is up and long-polling, so the clock starts with the work.
    await post(url, '/v1/queues/default/pause');
    const w = remoteWorker(url, 'drain', cfg.n);
    await w.line((l) => l.includes('"ready"'));
    await new Promise((r) => setTimeout(r, 300));
    const cpu0 = [cpuMs(server.pid), cpuMs(w.child.pid)];
    const t0 = performance.now();
    await post(url, '/v1/queues/default/resume');
    const out = JSON.parse(await w.line((l) => l.includes('"handled"'))) as { handled: number };
    const ms = performance.now() - t0;
    const cpu1 = [cpuMs(server.pid), cpuMs(w.child.pid)];
    if (out.handled !== cfg.n) throw new Error(`remote drain handled ${out.handled} of ${cfg.n}`);
    return { jobsPerSec: (cfg.n / ms) * 1000, serverCpuUs: ((cpu1[0]! - cpu0[0]!) * 1000) / cfg.n, workerCpuUs: ((cpu1[1]! - cpu0[1]!) * 1000) / cfg.n };
  } finally {
    server.kill('SIGKILL');
  }
}

/**
 * Open loop at 100 jobs/s, one HTTP enqueue per job, against a long-polling
 * remote worker: from the request sent, and from its 201 received, to the
 * handler starting (the second isolates the wake-up, claim and answer).
 */
async function remoteLatency(): Promise<{ sent: { p50: number; p99: number; max: number }; acked: { p50: number; p99: number; max: number }; enqueue: { p50: number; p99: number; max: number } }> {
  const { child: server, url } = await startServeProcess(['--sqlite-path', freshDb(), '--no-workers']);
  try {
    const w = remoteWorker(url, 'latency', cfg.latN);
    await w.line((l) => l.includes('"ready"'));
    for (let i = 0; i < 50; i++) await post(url, '/v1/jobs', { type: 'noop', payload: {} }); // warm-up (not measured)
    await new Promise((r) => setTimeout(r, 500));
    // The enqueuer is a lean keep-alive node:http client (as a real producer would be), not fetch, whose own overhead is not jobq's.
    const target = new URL(url);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const send = (body: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ agent, host: target.hostname, port: target.port, path: '/v1/jobs', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => (res.statusCode === 201 ? resolve(text) : reject(new Error(`enqueue: ${res.statusCode} ${text}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    const t0 = performance.now();
    const times = new Map<string, { sent: number; acked: number }>();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < cfg.latN; i++) {
      const wait = t0 + i * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = nowMs();
      sent.push(send(JSON.stringify({ type: 'noop', payload: { t: at } })).then((text) => times.set((JSON.parse(text) as { id: string }).id, { sent: at, acked: nowMs() })));
    }
    await Promise.all(sent);
    agent.destroy();
    const { starts } = JSON.parse(await w.line((l) => l.includes('"starts"'))) as { starts: Record<string, number> };
    const fromSent: number[] = [];
    const fromAck: number[] = [];
    const enqueue: number[] = [];
    for (const [id, t] of times) {
      const s = starts[id];
      if (s === undefined) throw new Error(`job ${id} never started`);
      fromSent.push(s - t.sent);
      fromAck.push(s - t.acked);
      enqueue.push(t.acked - t.sent);
    }
    return { sent: summarize(fromSent), acked: summarize(fromAck), enqueue: summarize(enqueue) };
  } finally {
    server.kill('SIGKILL');
  }
}

const WRK = (token: string | null) => `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
${token ? `wrk.headers["Authorization"] = "Bearer ${token}"` : ''}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"type":"noop","payload":{"seq":' .. n .. '}}')
end
`;

function wrk(url: string, token: string | null): { rps: number; requests: number; non2xx: number } {
  const script = join(work, `wrk-${token ? 'on' : 'off'}.lua`);
  writeFileSync(script, WRK(token));
  const r = spawnSync('wrk', ['-t2', `-c${cfg.concurrency}`, `-d${cfg.wrkSeconds}s`, '-s', script, `${url}/v1/jobs`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed (apt-get install wrk): ${r.stderr}`);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0),
    requests: Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0),
  };
}

/** The same server build twice, one with auth off (--insecure-no-auth), one with an admin token required; runs interleaved off, on, on, off… */
async function authOnOff(): Promise<{ off: number[]; on: number[]; cpuOff: number[]; cpuOn: number[]; errors: number }> {
  const token = `jobq_bench_${'t'.repeat(32)}`;
  const off = await startServeProcess(['--sqlite-path', freshDb(), '--queues', 'idle', '--insecure-no-auth']);
  const prev = process.env.JOBQ_ADMIN_TOKEN;
  process.env.JOBQ_ADMIN_TOKEN = token;
  const on = await startServeProcess(['--sqlite-path', freshDb(), '--queues', 'idle']).finally(() => {
    if (prev === undefined) delete process.env.JOBQ_ADMIN_TOKEN;
    else process.env.JOBQ_ADMIN_TOKEN = prev;
  });
  const out = { off: [] as number[], on: [] as number[], cpuOff: [] as number[], cpuOn: [] as number[], errors: 0 };
  try {
    for (let round = 0; round < cfg.rounds; round++) {
      for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const pid = (mode === 'off' ? off : on).child.pid;
        const cpu0 = cpuMs(pid);
        const r = mode === 'off' ? wrk(off.url, null) : wrk(on.url, token);
        // The server's CPU per request: what auth costs, whatever else the machine is doing.
        const cpuUs = ((cpuMs(pid) - cpu0) * 1000) / r.requests;
        out[mode].push(r.rps);
        out[mode === 'off' ? 'cpuOff' : 'cpuOn'].push(cpuUs);
        out.errors += r.non2xx;
        log(`  HTTP enqueue, auth ${mode}: ${fmt(r.rps)} req/s, server CPU ${cpuUs.toFixed(1)} µs per request`);
      }
    }
    return out;
  } finally {
    off.child.kill('SIGKILL');
    on.child.kill('SIGKILL');
  }
}

interface Row {
  scenario: string;
  value: string;
  detail: string;
  raw: Record<string, unknown>;
}

const rows: Row[] = [];
try {
  log(`jobq bench:remote ${JSON.stringify(cfg)}`);
  if (cfg.only === 'all' || cfg.only === 'drain') {
    const inProc: number[] = [];
    const remote: number[] = [];
    const cpu: { server: number[]; worker: number[] } = { server: [], worker: [] };
    for (let round = 0; round < cfg.rounds; round++) {
      inProc.push(inProcessDrain());
      const r = await remoteDrain();
      remote.push(r.jobsPerSec);
      cpu.server.push(r.serverCpuUs);
      cpu.worker.push(r.workerCpuUs);
      log(`  drain round ${round + 1}: in-process ${fmt(inProc.at(-1)!)} jobs/s, remote ${fmt(r.jobsPerSec)} jobs/s (CPU per job: server ${r.serverCpuUs.toFixed(0)} µs, worker ${r.workerCpuUs.toFixed(0)} µs)`);
    }
    const ratio = median(remote) / median(inProc);
    rows.push({ scenario: `processing ${fmt(cfg.n)} no-op jobs, in-process workers, concurrency 50`, value: `${fmt(median(inProc))} jobs/s`, detail: `median of ${cfg.rounds}: ${inProc.map(fmt).join(', ')}`, raw: { runs: inProc } });
    rows.push({
      scenario: `… one remote worker process over loopback HTTP, concurrency 50`,
      value: `${fmt(median(remote))} jobs/s`,
      detail: `${(ratio * 100).toFixed(0)} % of in-process (goal ≥ 50 %); median of ${cfg.rounds}: ${remote.map(fmt).join(', ')}; CPU per job: server ${median(cpu.server).toFixed(0)} µs, worker ${median(cpu.worker).toFixed(0)} µs`,
      raw: { runs: remote, ratio, serverCpuUsPerJob: cpu.server, workerCpuUsPerJob: cpu.worker },
    });
  }

  if (cfg.only === 'all' || cfg.only === 'latency') {
    const lat = await remoteLatency();
    const libLat = library({ sqlitePath: freshDb(), kind: 'latency', n: cfg.latN, concurrency: cfg.concurrency, rate: 100 });
    const ms = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
    rows.push({
      scenario: 'enqueue (HTTP) → handler start, long-polling remote worker, 100 jobs/s: from the request sent',
      value: `p50 ${lat.sent.p50.toFixed(2)} ms`,
      detail: `p99 ${lat.sent.p99.toFixed(2)} ms (goal p50 ≤ 2 ms); the HTTP enqueue alone (fsync included): ${ms(lat.enqueue)}`,
      raw: lat.sent,
    });
    rows.push({
      scenario: '… from its 201 received (wake-up, claim, answer, handler)',
      value: `p50 ${lat.acked.p50.toFixed(2)} ms`,
      detail: `p99 ${lat.acked.p99.toFixed(2)} ms`,
      raw: lat.acked,
    });
    rows.push({ scenario: 'enqueue (library) → handler start, in-process, 100 jobs/s (same sitting)', value: `p50 ${libLat.p50Ms!.toFixed(2)} ms`, detail: `p99 ${libLat.p99Ms!.toFixed(2)} ms`, raw: libLat });
  }

  if (cfg.only === 'all' || cfg.only === 'auth') {
    const auth = await authOnOff();
    const authRatio = median(auth.on) / median(auth.off);
    rows.push({
      scenario: 'HTTP enqueue, one job per request, 50 connections (wrk), auth off (--insecure-no-auth)',
      value: `${fmt(median(auth.off))} req/s`,
      detail: `median of ${auth.off.length}: ${auth.off.map(fmt).join(', ')}; server CPU ${median(auth.cpuOff).toFixed(1)} µs per request`,
      raw: { runs: auth.off, cpuUsPerRequest: auth.cpuOff },
    });
    rows.push({
      scenario: '… auth on (Bearer admin token on every request)',
      value: `${fmt(median(auth.on))} req/s`,
      detail: `${(authRatio * 100).toFixed(1)} % of off (goal ≥ 95 %); median of ${auth.on.length}: ${auth.on.map(fmt).join(', ')}; server CPU ${median(auth.cpuOn).toFixed(1)} µs per request (${((median(auth.cpuOff) / median(auth.cpuOn)) * 100).toFixed(1)} % of off's throughput per CPU second); ${auth.errors} non-2xx`,
      raw: { runs: auth.on, ratio: authRatio, cpuUsPerRequest: auth.cpuOn, non2xx: auth.errors },
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const table = ['| scenario (SQLite, fsync on) | result | detail |', '| --- | ---: | --- |', ...rows.map((r) => `| ${r.scenario} | ${r.value} | ${r.detail} |`)].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(OUT_DIR, { recursive: true });
const result = { at: new Date().toISOString(), env: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30) }, config: cfg, rows };
writeFileSync(join(OUT_DIR, 'remote-workers.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(OUT_DIR, 'remote-workers.md'), `${table}\n`);
log(`wrote ${join(OUT_DIR, 'remote-workers.json')}`);
