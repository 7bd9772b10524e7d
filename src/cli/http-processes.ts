/**
 * `jobq serve --http-processes N`: HTTP on every core. Node 20 has no
 * SO_REUSEPORT, so the cluster module shares the port: this process (the
 * primary) runs the workers and the maintenance services, accepts each
 * connection and hands it to one of N HTTP processes in turn (round robin,
 * once per connection; keep-alive requests then go straight to that
 * process). Each HTTP process is an API-only node with its own store
 * connection and its own group commit, so a 2xx still means committed (and
 * fsynced on SQLite); on one SQLite file their write transactions take turns
 * (see SqliteConn.durable). `/metrics` answers for all of them (process-metrics.ts).
 *
 * Lifecycle: the primary prints the `listening` line once every HTTP process
 * listens; a stop signal (or the primary's death: the IPC channel closes)
 * drains each HTTP process as `jobq serve` drains; the primary exits after
 * they have. An HTTP process that dies unexpectedly is replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { sendOnChannel } from './cluster-channel.js';
import { StartupError } from './startup-error.js';

/** Set in the environment of the HTTP processes the primary forks. */
export const HTTP_PROCESS_ENV = 'JOBQ_HTTP_PROCESS';

/** This process is one of a primary's HTTP processes. */
export const isHttpProcess = (): boolean => cluster.isWorker && process.env[HTTP_PROCESS_ENV] === '1';

/** Messages between the primary and its HTTP processes. */
type Message = { jobq: 'listening'; address: string } | { jobq: 'drain' };

export interface HttpProcesses {
  /** The address every HTTP process listens on. */
  address: string;
  /** Drains every HTTP process and resolves once all exited. */
  stop(): Promise<void>;
}

/** Forks `count` HTTP processes running this same command line; resolves once all listen. */
export async function startHttpProcesses(count: number, logger: Logger): Promise<HttpProcesses> {
  cluster.setupPrimary({ exec: process.argv[1]!, args: process.argv.slice(2), silent: false });
  let stopping = false;
  const live = new Set<Worker>();
  const fork = (): Worker => {
    const w = cluster.fork({ [HTTP_PROCESS_ENV]: '1' });
    live.add(w);
    w.on('exit', () => live.delete(w));
    return w;
  };
  const first = Array.from({ length: count }, fork);
  const address = await new Promise<string>((resolve, reject) => {
    const seen = new Map<Worker, string>();
    for (const w of first) {
      w.on('message', (m: Message) => {
        if (m?.jobq !== 'listening') return;
        seen.set(w, m.address);
        if (seen.size === count) resolve(m.address);
      });
      // An HTTP process that could not start said why on stderr (a port in use, a store it cannot open).
      w.on('exit', (code) => {
        if (!seen.has(w)) {
          for (const other of live) other.process.kill('SIGKILL');
          reject(new StartupError(`an HTTP process exited before it listened (exit ${code ?? 'by signal'}); see its message above`));
        }
      });
    }
  });
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    logger.error({ pid: w.process.pid, code, signal }, 'an HTTP process died; starting another');
    fork();
  });
  logger.info({ httpProcesses: [...live].map((w) => w.process.pid) }, 'HTTP processes listening');
  return {
    address,
    async stop() {
      stopping = true;
      const exits = [...live].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
      for (const w of live) sendOnChannel(w, { jobq: 'drain' } satisfies Message);
      await Promise.all(exits);
    },
  };
}

/** In an HTTP process: tell the primary we listen. */
export function reportListening(address: string): void {
  sendOnChannel(process, { jobq: 'listening', address } satisfies Message);
}

/** In an HTTP process: drain when the primary asks, or when it is gone (its channel closed). */
export function onPrimaryStop(drain: () => void): void {
  process.on('message', (m: Message) => m?.jobq === 'drain' && drain());
  process.on('disconnect', drain);
}
