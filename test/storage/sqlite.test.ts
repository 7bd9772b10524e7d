import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runStoreConformance } from './conformance/suite.js';

runStoreConformance({
  name: 'sqlite',
  open: async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    // A short busy timeout, so the outage test (another process holding the write lock) fails fast.
    const open = () => new SqliteStore({ path, busyTimeoutMs: 100 });
    return {
      store: open(),
      openPeer: async () => open(),
      induceOutage: async () => {
        const locker = new Database(path);
        locker.exec('BEGIN EXCLUSIVE');
        return async () => {
          locker.exec('ROLLBACK');
          locker.close();
        };
      },
      cleanup: async () => dir.remove(),
    };
  },
});
