import { after } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { withClient } from '../helpers/pg-client.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { runStoreConformance } from './conformance/suite.js';

after(stopSharedCluster);

runStoreConformance({
  name: 'postgres',
  open: async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withClient(url, fn);
    return {
      store: await PostgresStore.open({ connectionString: url, schema }),
      openPeer: () => PostgresStore.open({ connectionString: url, schema }),
      // The jobs table taken away under the store (as a dropped schema would): every call fails.
      induceOutage: async () => {
        await admin((c) => c.query(`ALTER TABLE "${schema}".jobs RENAME TO jobs_away`));
        return async () => void (await admin((c) => c.query(`ALTER TABLE "${schema}".jobs_away RENAME TO jobs`)));
      },
      inTransaction: async (fn, commit) =>
        admin(async (c) => {
          await c.query('BEGIN');
          try {
            return await fn(c);
          } finally {
            await c.query(commit ? 'COMMIT' : 'ROLLBACK');
          }
        }),
      cleanup: async () => void (await admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))),
    };
  },
});
