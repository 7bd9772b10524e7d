// jobq on SQLite for the shared peer harness (../shared/bench/peers). Producer
// and worker are separate processes sharing one SQLite file, as with
// `jobq serve` + `jobq worker`. Build first (npm run build), then:
//   BENCH_EXTRA_ADAPTERS=jobq=/path/to/jobq/bench/peers-adapter.mjs npm --prefix <copy of peers> run bench
// JOBQ_BENCH_SQLITE sets the file (default /tmp/jobq-peers-bench.db).
import { makeAdapter, setUpLikeJobqWorker } from './peers-adapter-common.mjs';

await setUpLikeJobqWorker('sqlite');
const { default: Database } = await import('better-sqlite3');
const { SqliteStore } = await import('../dist/src/storage/sqlite/index.js');

const DB = process.env.JOBQ_BENCH_SQLITE ?? '/tmp/jobq-peers-bench.db';

export const label = 'jobq (SQLite, durable)';
export const producerSettings = {
  store: `SqliteStore({ path: "${DB}" }) - WAL; every acknowledged enqueue fsynced (synchronous "full", the default)`,
  single: 'jobq.enqueue({ type: "bench", payload: data }) - concurrent calls share one transaction (group commit)',
  bulk: 'jobq.enqueueMany([...]) - one transaction per batch',
  clean: 'DELETE FROM jobs',
};

const adapter = makeAdapter({
  store: 'sqlite',
  openStore: async () => new SqliteStore({ path: DB }),
  openBook: async () => {
    const db = new Database(DB);
    return {
      clean: async () => void db.exec('DELETE FROM jobs'),
      count: async (where) => db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE ${where}`).get().n,
      completions: async () => db.prepare("SELECT json_extract(payload, '$.seq') AS seq, finished_at AS done FROM jobs WHERE status = 'completed'").all(),
      analyze: async () => void db.exec('ANALYZE'),
      close: async () => db.close(),
    };
  },
});
export const { workerProfiles, createProducer, createWorker } = adapter;
