/** Small shared pieces of the issue #7 regression tests (not a test file itself). */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type Agent } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/spawn-server.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** It started serving instead of exiting (then it was killed). */
  listened: boolean;
}

/**
 * Runs `jobq <command> …` to its end. A process that starts listening instead
 * of exiting is killed and reported with `listened: true`.
 */
export function runCli(args: string[], { command = 'serve', timeoutMs = 15_000, env = {} as Record<string, string>, cwd = undefined as string | undefined } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const portArgs = command === 'serve' ? ['--port', '0'] : [];
    const child = spawn(process.execPath, [CLI, command, ...portArgs, '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    let listened = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobq ${command} neither exited nor listened within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!listened && /\{"listening":"[^"]+"\}|\{"worker":"running"/.test(stdout)) {
        listened = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, listened });
    });
  });
}

export function describeRun(r: CliRun): string {
  return r.listened ? 'it started serving instead of refusing' : `exit ${r.code ?? r.signal}; stderr: ${JSON.stringify(r.stderr.slice(0, 500))}`;
}

/** CPU time (user + system) of a process in seconds, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "(comm)": state is field 3 of the full line, utime 14 and stime 15 → indexes 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface RawAnswer {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends exactly these bytes on a new connection and reads until the server closes it (or `timeoutMs`). */
export function rawRequest(port: number, bytes: Buffer | string, { timeoutMs = 10_000, keepOpen = false } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = text.slice(split + 4);
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status: Number(m[1]), head, headers, body });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      if (chunks.length > 0) finish();
      else if (!settled) {
        settled = true;
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }
    }, timeoutMs);
    sock.on('connect', () => {
      if (bytes.length > 0) sock.write(bytes);
    });
    sock.on('data', (d) => {
      chunks.push(d);
      // Without keepOpen, one complete answer is enough when the server keeps the connection.
      if (!keepOpen) {
        const text = Buffer.concat(chunks).toString('utf8');
        const split = text.indexOf('\r\n\r\n');
        const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
        if (split > 0 && len && Buffer.byteLength(text.slice(split + 4)) >= Number(len[1])) {
          sock.destroy();
          finish();
        }
      }
    });
    sock.on('error', () => {});
    sock.on('close', finish);
  });
}

function dechunk(s: string): string {
  let out = '';
  let rest = s;
  for (;;) {
    const i = rest.indexOf('\r\n');
    if (i < 0) break;
    const n = parseInt(rest.slice(0, i), 16);
    if (!n) break;
    out += rest.slice(i + 2, i + 2 + n);
    rest = rest.slice(i + 2 + n + 2);
  }
  return out;
}

/** Run log written by the recordRun / recordSlow fixtures: one job id a line, one file per process. */
export function runLog() {
  const dir = mkdtempSync(join(tmpdir(), 'jobq-runs-'));
  return {
    env: { JOBQ_RUN_LOG_DIR: dir },
    /** How many times each job id ran. */
    counts(): Map<string, number> {
      const seen = new Map<string, number>();
      for (const f of readdirSync(dir)) {
        for (const id of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      return seen;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The same server and credentials as `url`, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A measurement window (not synchronisation): lets time pass while something is observed. */
export function elapse(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lone UTF-16 surrogates: what jsonb refuses and what a cut in the middle of a pair leaves. */
export function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

export interface ShellServer {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `jobq serve` started through bash with a file-descriptor limit
 * (`ulimit -n N; exec node <cli> serve …`): the pid is node's (exec).
 */
export async function spawnWithFdLimit(nofile: number, args: string[], { timeoutMs = 15_000, env = {} as Record<string, string> } = {}): Promise<ShellServer> {
  const quoted = [process.execPath, CLI, 'serve', '--port', '0', '--log-level', 'warn', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -n ${nofile} && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}

export interface AgentAnswer {
  status: number | null;
  body: string;
  error?: string;
}

/** One request through a given agent; a network failure is an answer with status null. */
export function agentRequest(agent: Agent, url: string, method: string, path: string, body?: string): Promise<AgentAnswer> {
  return new Promise((resolve) => {
    const req = httpRequest(url + path, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: null, body: '', error: err.message }));
    });
    req.on('error', (err) => resolve({ status: null, body: '', error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/**
 * Opens keep-alive connections through `agent` (GET /healthz on each) until new
 * ones fail; returns how many the server accepted and kept.
 */
export async function exhaustConnections(agent: Agent, url: string, sockets: number): Promise<{ held: number; failed: number }> {
  const answers = await Promise.all(Array.from({ length: sockets }, () => agentRequest(agent, url, 'GET', '/healthz')));
  return { held: answers.filter((a) => a.status === 200).length, failed: answers.filter((a) => a.status === null).length };
}
