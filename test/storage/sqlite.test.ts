import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runStoreConformance } from './conformance/suite.js';

runStoreConformance({
  name: 'sqlite',
  open: async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    return {
      store: new SqliteStore({ path }),
      openPeer: async () => new SqliteStore({ path }),
      cleanup: async () => dir.remove(),
    };
  },
});
