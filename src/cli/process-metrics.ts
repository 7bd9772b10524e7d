/**
 * `/metrics` of `jobq serve --http-processes N`, for the whole server. Each
 * HTTP process has a registry of its own (its requests, its enqueues), and
 * the primary one more (its workers: starts, completions, run times). A
 * scrape reaches one HTTP process, which asks the primary; the primary asks
 * every HTTP process for its registry over the cluster channel and combines
 * them with its own by each metric's aggregator (prom-client's
 * AggregatorRegistry.aggregate: counters and histograms add up). Prometheus
 * then sees one server whose counters only grow, not another process's
 * numbers on each scrape, and the workers' numbers at all.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { JobqError } from '../contracts/errors.js';
import type { ProcessGroupMetrics } from '../metrics/metrics.js';
import { sendOnChannel } from './cluster-channel.js';

type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Over the cluster channel; `jobq` keeps them apart from the lifecycle messages (http-processes.ts). */
type Message =
  /** HTTP process → primary: the server's metrics, please. */
  | { jobq: 'metrics?'; id: number }
  /** Primary → that HTTP process. */
  | { jobq: 'metrics'; id: number; text: string }
  | { jobq: 'metrics'; id: number; error: string }
  /** Primary → every HTTP process: your registry, please. */
  | { jobq: 'registry?'; id: number }
  | { jobq: 'registry'; id: number; json: RegistryJson };

/** A scrape fails (504) rather than wait longer, or show part of the server: counters that went back would read as resets. */
const ANSWER_TIMEOUT_MS = 5_000;

/** In an HTTP process: answers the primary's requests for this registry, and asks it for the combined text. */
export function httpProcessMetrics(): ProcessGroupMetrics {
  let registry: Registry | null = null;
  let nextId = 0;
  const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  process.on('message', (m: Message) => {
    if (m?.jobq === 'registry?') {
      // Before its app has built the registry (at start), a process has nothing to add, and says so rather than let the scrape wait.
      void (registry?.getMetricsAsJSON() ?? Promise.resolve([])).then((json) => sendOnChannel(process, { jobq: 'registry', id: m.id, json } satisfies Message));
    } else if (m?.jobq === 'metrics') {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      clearTimeout(w.timer);
      if ('text' in m) w.resolve(m.text);
      else w.reject(new JobqError('timeout', `the server's metrics could not be gathered: ${m.error}`));
    }
  });
  return {
    attach(r) {
      registry = r;
    },
    text() {
      if (!process.send || !process.connected) return Promise.reject(new JobqError('shutting_down', 'this HTTP process is draining: its primary is gone'));
      const id = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new JobqError('timeout', `the primary did not send the server's metrics within ${ANSWER_TIMEOUT_MS} ms`));
        }, ANSWER_TIMEOUT_MS);
        waiting.set(id, { resolve, reject, timer });
        sendOnChannel(process, { jobq: 'metrics?', id } satisfies Message);
      });
    },
  };
}

/** In the primary: answers its HTTP processes' scrapes with every process's metrics, its own (`own`) included. */
export function serveProcessMetrics(own: Registry): void {
  let nextId = 0;
  /** Per scrape being gathered: the HTTP processes yet to answer, and what came. */
  const gathering = new Map<number, { pending: Set<Worker>; parts: RegistryJson[]; settled(): void }>();
  const gather = (id: number): Promise<RegistryJson[]> => {
    const asked = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    return new Promise<RegistryJson[]>((resolve, reject) => {
      const g = { pending: new Set(asked), parts: [] as RegistryJson[], settled: () => {} };
      const timer = setTimeout(() => {
        gathering.delete(id);
        reject(new Error(`${g.pending.size} HTTP process(es) did not answer within ${ANSWER_TIMEOUT_MS} ms`));
      }, ANSWER_TIMEOUT_MS);
      g.settled = () => {
        if (g.pending.size > 0) return;
        clearTimeout(timer);
        gathering.delete(id);
        resolve(g.parts);
      };
      gathering.set(id, g);
      for (const w of asked) sendOnChannel(w, { jobq: 'registry?', id } satisfies Message);
      g.settled();
    });
  };
  cluster.on('message', (worker: Worker, m: Message) => {
    if (m?.jobq === 'registry') {
      const g = gathering.get(m.id);
      if (!g?.pending.delete(worker)) return;
      g.parts.push(m.json);
      g.settled();
    } else if (m?.jobq === 'metrics?') {
      const reply = (answer: Message) => sendOnChannel(worker, answer);
      gather(nextId++)
        .then(async (parts) => AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...parts]).metrics())
        .then(
          (text) => reply({ jobq: 'metrics', id: m.id, text }),
          (err: Error) => reply({ jobq: 'metrics', id: m.id, error: err.message }),
        );
    }
  });
  // A process that exits while asked has nothing more to say (its replacement starts from zero).
  cluster.on('exit', (worker: Worker) => {
    for (const g of gathering.values()) if (g.pending.delete(worker)) g.settled();
  });
}
