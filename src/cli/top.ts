/**
 * `jobq top`: a live terminal view of the queues. Rates come from the event
 * stream's stats frames (every node's events, once a second); counts from
 * GET /v1/queues and wait p50/p99 from GET /v1/stats, both every 2 s. Redraws
 * once a second on the alternate screen; q or Ctrl-C quits.
 */
import { JobqClient, type QueueJson } from '../client/jobq-client.js';
import { EXIT } from './exit-codes.js';
import { reach, serverClient } from './client-commands.js';
import { followStream } from './top-stream.js';

export interface TopFlags {
  url: string;
  token?: string;
  intervalMs?: string;
}

type Counts = Record<string, number>;
interface Rates {
  /** Per queue: the last few seconds of counts per kind, newest last. */
  windows: Map<string, Counts[]>;
}

const WINDOW = 5;

const pad = (s: string, n: number, right = false) => (s.length >= n ? s.slice(0, n) : right ? s.padStart(n) : s.padEnd(n));
const num = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');
const rate = (n: number) => (n === 0 ? '0' : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
function secs(s: number | undefined): string {
  if (s === undefined) return '-';
  return s < 1 ? `${Math.round(s * 1000)}ms` : s < 120 ? `${s.toFixed(1)}s` : `${Math.round(s / 60)}m`;
}

export function perSecond(r: Rates, queue: string, kind: string): number {
  const w = r.windows.get(queue) ?? [];
  if (w.length === 0) return 0;
  return w.reduce((a, c) => a + (c[kind] ?? 0), 0) / w.length;
}

/** The screen, as lines (also what the test reads back from tmux). */
export function renderTop(p: { url: string; live: boolean; queues: QueueJson[]; rates: Rates; waits: Record<string, { p50: number; p99: number }>; width: number; now: Date }): string[] {
  const head = `jobq top  ${p.url}  ${p.live ? 'live' : 'reconnecting…'}  ${p.now.toISOString().slice(11, 19)}Z`;
  const cols: [string, number, boolean][] = [
    ['QUEUE', 16, false], ['STATE', 7, false], ['PENDING', 9, true], ['RUNNING', 8, true], ['SCHED', 7, true], ['FAILED', 8, true],
    ['ENQ/s', 8, true], ['DONE/s', 8, true], ['FAIL/s', 7, true], ['WAIT p50', 9, true], ['p99', 8, true],
  ];
  const line = (cells: string[]) => cells.map((c, i) => pad(c, cols[i]![1], cols[i]![2])).join(' ').slice(0, p.width);
  const out = [head.slice(0, p.width), '', line(cols.map((c) => c[0]))];
  let tot = { enq: 0, done: 0, fail: 0 };
  for (const q of p.queues) {
    const c = q.counts;
    const enq = perSecond(p.rates, q.name, 'enqueued');
    const done = perSecond(p.rates, q.name, 'completed');
    const fail = perSecond(p.rates, q.name, 'failed') + perSecond(p.rates, q.name, 'retrying');
    tot = { enq: tot.enq + enq, done: tot.done + done, fail: tot.fail + fail };
    const w = p.waits[q.name];
    out.push(line([q.name, q.paused ? 'paused' : 'active', num(c.pending), num(c.processing), num((c.scheduled ?? 0) + (c.waiting ?? 0)), num(c.failed), rate(enq), rate(done), rate(fail), secs(w?.p50), secs(w?.p99)]));
  }
  if (p.queues.length === 0) out.push('(no queues yet)');
  out.push('', `all queues: ${rate(tot.enq)} enqueued/s, ${rate(tot.done)} completed/s, ${rate(tot.fail)} failed/s (last ${WINDOW} s)    q: quit`.slice(0, p.width));
  return out;
}

export async function topCommand(flags: TopFlags): Promise<number> {
  const client: JobqClient = serverClient(flags.url);
  const token = flags.token;
  const authed = token ? new JobqClient({ url: flags.url, token }) : client;
  const intervalMs = Number(flags.intervalMs ?? 1000);
  // One look first: an unreachable server or a bad token is one line and exit 2 / 1, not a blank screen.
  let queues = (await reach(flags, () => authed.queues({ limit: 500 }))).queues;
  const rates: Rates = { windows: new Map() };
  let waits: Record<string, { p50: number; p99: number }> = {};
  let live = false;
  const ctl = new AbortController();
  const base = flags.url.replace(/\/+$/, '');
  const tty = process.stdout.isTTY;

  const stream = followStream(`${base}/v1/events?stats=1&events=0`, token, {
    open: () => (live = true),
    lost: () => (live = false),
    frame: (f) => {
      if (f.event !== 'stats') return;
      const data = f.data as { queues: Record<string, Counts> };
      const seen = new Set(Object.keys(data.queues));
      for (const name of new Set([...rates.windows.keys(), ...seen])) {
        const w = rates.windows.get(name) ?? [];
        w.push(data.queues[name] ?? {});
        if (w.length > WINDOW) w.shift();
        rates.windows.set(name, w);
      }
    },
  }, ctl.signal);
  let failure: unknown = null;
  stream.catch((err: unknown) => {
    failure = err;
    ctl.abort();
  });

  const refresh = async () => {
    try {
      queues = (await authed.queues({ limit: 500 })).queues;
      const res = await fetch(`${base}/v1/stats`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      if (res.ok) waits = ((await res.json()) as { waits: typeof waits }).waits;
    } catch {
      live = false;
    }
  };
  const draw = () => {
    const lines = renderTop({ url: flags.url, live, queues, rates, waits, width: process.stdout.columns || 120, now: new Date() });
    process.stdout.write(tty ? `\x1b[H\x1b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
  };

  if (tty) process.stdout.write('\x1b[?1049h\x1b[?25l');
  const restore = () => {
    if (tty) process.stdout.write('\x1b[?25h\x1b[?1049l');
  };
  const refreshTimer = setInterval(() => void refresh(), 2000);
  const drawTimer = setInterval(draw, intervalMs);
  draw();
  await new Promise<void>((resolve) => {
    const quit = () => resolve();
    ctl.signal.addEventListener('abort', quit, { once: true });
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on('data', (b: Buffer) => {
        const k = b.toString();
        if (k === 'q' || k === 'Q' || k === '\x03') quit();
      });
    }
  });
  clearInterval(refreshTimer);
  clearInterval(drawTimer);
  ctl.abort();
  restore();
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  if (failure) {
    const e = failure as { code?: string; message?: string };
    process.stderr.write(`jobq: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
