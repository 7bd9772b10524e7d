/** Kafka worker nodes as real child processes, and what each said it ran. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait-for.js';

const WORKER = fileURLToPath(new URL('./fixtures/kafka-worker.js', import.meta.url));
/** Lines of a worker's log kept for a failure report. */
const LOG_LINES = 100;

export interface WorkerProc {
  child: ChildProcess;
  name: string;
  ready: boolean;
  started: string[];
  done: Set<string>;
  /** Jobs whose completion this worker wrote to the store. */
  stored: Set<string>;
  /** The last lines of its log (warnings and errors), for a failure report. */
  log: string[];
  /** The answers to `state()`, in order. */
  states: string[];
  exited: boolean;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

export async function startWorker(name: string, args: { url: string; schema: string; brokers: string; mode: string; concurrency: number }): Promise<WorkerProc> {
  const child = spawn(process.execPath, [WORKER, args.url, args.schema, args.brokers, args.mode, String(args.concurrency)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: WorkerProc = { child, name, ready: false, started: [], done: new Set(), stored: new Set(), log: [], states: [], exited: false };
  lines(child.stdout!, (line) => {
    if (line === 'ready') w.ready = true;
    else if (line.startsWith('start ')) w.started.push(line.slice(6));
    else if (line.startsWith('done ')) w.done.add(line.slice(5));
    else if (line.startsWith('stored ')) w.stored.add(line.slice(7));
    else if (line.startsWith('state ')) w.states.push(line.slice(6));
  });
  lines(child.stderr!, (line) => {
    w.log.push(line);
    if (w.log.length > LOG_LINES) w.log.shift();
  });
  // 'close', not 'exit': every line the worker wrote (a killed one's last `start` lines) has been read by then.
  child.on('close', () => (w.exited = true));
  await waitFor(() => w.ready || w.exited, { what: `worker ${name} to start`, timeoutMs: 60_000, intervalMs: 50 });
  if (!w.ready) throw new Error(`worker ${name} exited during start-up:\n${w.log.join('\n')}`);
  return w;
}

/** What a live worker's Kafka side holds now (its answer to SIGUSR2), or why there is none. */
export async function state(w: WorkerProc): Promise<string> {
  if (w.exited) return 'exited';
  const before = w.states.length;
  w.child.kill('SIGUSR2');
  try {
    await waitFor(() => w.states.length > before, { what: `worker ${w.name}'s state`, timeoutMs: 5000, intervalMs: 20 });
    return w.states[before]!;
  } catch {
    return 'no answer within 5 s';
  }
}

/** Each worker's state and last log lines: what a stuck job's failure report shows. */
export async function diagnosis(workers: readonly WorkerProc[]): Promise<string> {
  const parts: string[] = [];
  for (const w of workers) parts.push(`worker ${w.name}: ran ${w.done.size}; state ${await state(w)}\n  log: ${w.log.slice(-20).join('\n  log: ') || '(empty)'}`);
  return parts.join('\n');
}

/** Jobs whose handler started more than once, across all workers. */
export function duplicates(workers: readonly WorkerProc[]): string[] {
  const seen = new Map<string, number>();
  for (const w of workers) for (const id of w.started) seen.set(id, (seen.get(id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

export async function stopAll(workers: readonly WorkerProc[]): Promise<void> {
  for (const w of workers) if (!w.exited) w.child.kill('SIGKILL');
  await waitFor(() => workers.every((w) => w.exited), { what: 'workers to exit', timeoutMs: 10_000 });
}
