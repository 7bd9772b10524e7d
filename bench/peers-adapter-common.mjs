// What the two jobq adapters for the shared peer harness have in common; each
// adapter supplies how to open the store and the harness's bookkeeping queries.
// The worker process is set up as `jobq worker` sets up its own: with its heap
// settings (the young generation kept at its first size, full collections at
// twice the live old generation, cli/heap-tuning.ts), made before jobq's
// modules load (cli/main.ts): each adapter calls
// setUpLikeJobqWorker first and imports the store's modules after it.
import { keepWorkerHeapSmall } from '../dist/src/cli/heap-tuning.js';

let Jobq;

/**
 * Loads jobq's core, in the harness's worker process (it forks each worker as
 * src/worker-child.mjs) after making jobq worker's heap settings. The producer
 * runs in the harness's parent, as `jobq serve` would, with V8's defaults.
 */
export async function setUpLikeJobqWorker(store) {
  if (process.argv[1]?.endsWith('/worker-child.mjs')) keepWorkerHeapSmall('worker', store);
  ({ Jobq } = await import('../dist/src/core/jobq.js'));
}

const profile = (concurrency) => ({
  describe: `new Jobq({ store, queues: { default: { concurrency: ${concurrency} } } }) in a process with jobq worker's heap settings (v8 semi-space-growth-factor 1, heap-growing-percent 100) - defaults otherwise`,
  concurrency,
});
export const workerProfiles = { c1: profile(1), c50: profile(50), tuned: profile(200) };

/**
 * @param store 'sqlite' | 'postgres'
 * @param openStore (cfg) => Promise<Store>
 * @param openBook (cfg) => Promise<{ clean, count(where), completions(): [{seq, done}], analyze, close }>
 */
export function makeAdapter({ store, openStore, openBook }) {
  return {
    workerProfiles,
    async createProducer(cfg) {
      const jobq = new Jobq({ store: await openStore(cfg) });
      const book = await openBook(cfg);
      return {
        clean: () => book.clean(),
        enqueue: (data) => jobq.enqueue({ type: 'bench', payload: data }),
        enqueueBulk: (datas) => jobq.enqueueMany(datas.map((data) => ({ type: 'bench', payload: data }))),
        remaining: () => book.count("status IN ('scheduled', 'pending', 'processing')"),
        failed: () => book.count("status = 'failed'"),
        prepareProcessing: () => book.analyze(),
        async beginCompletionTracking() {},
        // finished_at is the store's clock (epoch ms, whole milliseconds) at the completing commit.
        async completionTimes() {
          return new Map((await book.completions()).map((r) => [Number(r.seq), Number(r.done)]));
        },
        async endCompletionTracking() {},
        async close() {
          await jobq.close();
          await book.close();
        },
      };
    },
    async createWorker(cfg, profileName, hooks) {
      const { concurrency } = workerProfiles[profileName];
      keepWorkerHeapSmall('worker', store);
      const jobq = new Jobq({
        store: await openStore(cfg),
        queues: { default: { concurrency } },
        handlers: { bench: (job) => void hooks.onStart(job.payload) },
      });
      return {
        async start() {
          jobq.startWorkers();
        },
        async stop() {
          await jobq.close(10_000);
        },
      };
    },
  };
}
