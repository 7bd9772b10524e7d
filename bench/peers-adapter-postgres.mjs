// jobq on Postgres for the shared peer harness, on the same server as pg-boss
// and graphile-worker (the harness's PG_URL), in schema "jobq_peers". Build
// first (npm run build), then:
//   BENCH_EXTRA_ADAPTERS=jobq-pg=/path/to/jobq/bench/peers-adapter-postgres.mjs npm --prefix <copy of peers> run bench
import { makeAdapter, setUpLikeJobqWorker } from './peers-adapter-common.mjs';

await setUpLikeJobqWorker('postgres');
const { PostgresStore } = await import('../dist/src/storage/postgres/index.js');

const SCHEMA = 'jobq_peers';

export const label = 'jobq (Postgres)';
export const producerSettings = {
  store: `PostgresStore({ connectionString: PG_URL, schema: "${SCHEMA}" }) - pool 10; enqueues committed with synchronous_commit on; LISTEN/NOTIFY wake-ups`,
  single: 'jobq.enqueue({ type: "bench", payload: data }) - concurrent calls share one transaction (group commit), one NOTIFY per batch',
  bulk: 'jobq.enqueueMany([...]) - one INSERT ... SELECT FROM unnest(...) per batch',
  clean: `TRUNCATE ${SCHEMA}.jobs`,
};

const adapter = makeAdapter({
  store: 'postgres',
  openStore: (cfg) => PostgresStore.open({ connectionString: cfg.pgUrl, schema: SCHEMA }),
  openBook: async (cfg) => {
    // Loaded here, in the producer only: imported at the top, the harness's own driver would be
    // loaded into the worker's process too, before the store's (see src/storage/postgres/driver.ts).
    const { default: pg } = await import('pg');
    const db = new pg.Pool({ connectionString: cfg.pgUrl, max: 2 });
    const one = async (sql) => (await db.query(sql)).rows;
    return {
      clean: async () => void (await one(`TRUNCATE ${SCHEMA}.jobs`)),
      count: async (where) => (await one(`SELECT COUNT(*)::int AS n FROM ${SCHEMA}.jobs WHERE ${where}`))[0].n,
      completions: () => one(`SELECT (payload->>'seq')::int AS seq, finished_at AS done FROM ${SCHEMA}.jobs WHERE status = 'completed'`),
      analyze: async () => void (await one(`ANALYZE ${SCHEMA}.jobs`)),
      close: () => db.end(),
    };
  },
});
export const { workerProfiles, createProducer, createWorker } = adapter;
