/**
 * Runs simulator seeds in a worker thread for seeds.test.ts, so the SQLite
 * seeds use the second core while the memory seeds run on the main thread.
 * Each message asks for one batch; the reply carries its results.
 */
import { parentPort } from 'node:worker_threads';
import { simulate, type SimResult, type StoreKind } from './simulator.js';

export interface SeedBatch {
  id: number;
  store: StoreKind;
  seeds: number[];
  steps: number;
}

export interface SeedBatchResult {
  id: number;
  results: SimResult[];
  error?: string;
}

const port = parentPort;
if (port) {
  // Batches run one at a time, in the order asked: the worker is one more single-threaded runner.
  let queue = Promise.resolve();
  port.on('message', (batch: SeedBatch) => {
    queue = queue.then(async () => {
      const results: SimResult[] = [];
      try {
        for (const seed of batch.seeds) results.push(await simulate(seed, batch.steps, { store: batch.store }));
        port.postMessage({ id: batch.id, results } satisfies SeedBatchResult);
      } catch (err) {
        port.postMessage({ id: batch.id, results, error: String((err as Error)?.stack ?? err) } satisfies SeedBatchResult);
      }
    });
  });
}
