/** Kafka worker nodes as real child processes, and what each said it ran. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait-for.js';

const WORKER = fileURLToPath(new URL('./fixtures/kafka-worker.js', import.meta.url));

export interface WorkerProc {
  child: ChildProcess;
  name: string;
  ready: boolean;
  started: string[];
  done: Set<string>;
  exited: boolean;
}

export async function startWorker(name: string, args: { url: string; schema: string; brokers: string; mode: string; concurrency: number }): Promise<WorkerProc> {
  const child = spawn(process.execPath, [WORKER, args.url, args.schema, args.brokers, args.mode, String(args.concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const w: WorkerProc = { child, name, ready: false, started: [], done: new Set(), exited: false };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'ready') w.ready = true;
      else if (line.startsWith('start ')) w.started.push(line.slice(6));
      else if (line.startsWith('done ')) w.done.add(line.slice(5));
    }
  });
  child.on('exit', () => (w.exited = true));
  await waitFor(() => w.ready || w.exited, { what: `worker ${name} to start`, timeoutMs: 60_000, intervalMs: 50 });
  if (!w.ready) throw new Error(`worker ${name} exited during start-up`);
  return w;
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
