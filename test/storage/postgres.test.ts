import { after } from 'node:test';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { runStoreConformance } from './conformance/suite.js';

after(stopSharedCluster);

runStoreConformance({
  name: 'postgres',
  open: async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    return {
      store: await PostgresStore.open({ connectionString: url, schema }),
      openPeer: () => PostgresStore.open({ connectionString: url, schema }),
    };
  },
});
