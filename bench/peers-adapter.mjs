// jobq adapter for the shared peer harness (../shared/bench/peers). Producer
// and worker are separate processes sharing one SQLite file, as in production
// with `jobq serve` + `jobq worker`. Run it with:
//   BENCH_EXTRA_ADAPTERS=jobq=/path/to/jobq/bench/peers-adapter.mjs npm --prefix <copy of peers> run bench
// (build first: npm run build). JOBQ_BENCH_SQLITE sets the file (default /tmp/jobq-peers-bench.db).
import Database from 'better-sqlite3';
import { Jobq } from '../dist/src/core/jobq.js';
import { SqliteStore } from '../dist/src/storage/sqlite/index.js';

const DB = process.env.JOBQ_BENCH_SQLITE ?? '/tmp/jobq-peers-bench.db';

export const label = 'jobq (SQLite, durable)';

export const producerSettings = {
  store: `SqliteStore({ path: "${DB}" }) - WAL; every acknowledged enqueue fsynced (synchronous "full", the default)`,
  single: 'jobq.enqueue({ type: "bench", payload: data }) - concurrent calls share one transaction (group commit)',
  bulk: 'jobq.enqueueMany([...]) - one transaction per batch',
  clean: 'DELETE FROM jobs',
};

const profile = (concurrency) => ({
  describe: `new Jobq({ store: SqliteStore, queues: { default: { concurrency: ${concurrency} } } }) - defaults otherwise`,
  concurrency,
});
export const workerProfiles = { c1: profile(1), c50: profile(50), tuned: profile(200) };

export async function createProducer() {
  const jobq = new Jobq({ store: new SqliteStore({ path: DB }) });
  const db = new Database(DB); // the harness's own bookkeeping queries
  const count = (where) => db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE ${where}`).get().n;
  return {
    async clean() {
      db.exec('DELETE FROM jobs');
    },
    enqueue: (data) => jobq.enqueue({ type: 'bench', payload: data }),
    enqueueBulk: (datas) => jobq.enqueueMany(datas.map((data) => ({ type: 'bench', payload: data }))),
    async remaining() {
      return count("status IN ('scheduled', 'pending', 'processing')");
    },
    async failed() {
      return count("status = 'failed'");
    },
    async prepareProcessing() {
      db.exec('ANALYZE');
    },
    async beginCompletionTracking() {},
    // finished_at is the store's own clock at the completing commit (epoch ms).
    async completionTimes() {
      const rows = db.prepare("SELECT json_extract(payload, '$.seq') AS seq, finished_at AS done FROM jobs WHERE status = 'completed'").all();
      return new Map(rows.map((r) => [r.seq, r.done]));
    },
    async endCompletionTracking() {},
    async close() {
      await jobq.close();
      db.close();
    },
  };
}

export async function createWorker(_cfg, profileName, hooks) {
  const { concurrency } = workerProfiles[profileName];
  const jobq = new Jobq({
    store: new SqliteStore({ path: DB }),
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
}
