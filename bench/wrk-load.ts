/**
 * Single-job HTTP enqueue driven by wrk (C, Debian package `wrk`), which costs
 * far less CPU than a Node client: on 2 cores a Node load generator capped the
 * server at ~13k req/s where wrk shows 30k+. Falls back to the Node client
 * (http-load.ts) when wrk is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

const SCRIPT = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"type":"noop","payload":{"seq":' .. n .. '}}')
end
`;

/**
 * Every request carries its own unique key: wrk runs one Lua state per thread,
 * so the key names the thread too, and each wrk run (a warm-up, then the
 * measured run) its own prefix, so no run meets an earlier run's active keys.
 */
const keyedScript = (prefix: string) => `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"type":"noop","key":"${prefix}-' .. tid .. '-' .. n .. '","payload":{"seq":' .. n .. '}}')
end
`;

function ms(text: string, label: string): number {
  const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

let keyedRuns = 0;

export function wrkPost(url: string, connections: number, seconds: number, options: { keyed?: boolean } = {}): WrkResult {
  const dir = mkdtempSync(join(tmpdir(), 'jobq-wrk-'));
  const script = join(dir, 'post.lua');
  writeFileSync(script, options.keyed ? keyedScript(`k${process.pid}x${++keyedRuns}`) : SCRIPT);
  try {
    const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
    const out = r.stdout;
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
    const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
      requests: num(/(\d+) requests in/),
      non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
      socketErrors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
      p50Ms: ms(out, '50%'),
      p99Ms: ms(out, '99%'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
