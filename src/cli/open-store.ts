/** Opens the configured backend; each is imported only when chosen. */
import type { Store } from '../storage/store.js';
import type { ServerSettings } from './settings.js';

export async function openStore(settings: ServerSettings): Promise<Store> {
  if (settings.store === 'memory') {
    const { MemoryStore } = await import('../storage/memory/index.js');
    return new MemoryStore({ maxActiveJobs: settings.memoryMaxJobs });
  }
  const { SqliteStore } = await import('../storage/sqlite/index.js');
  return new SqliteStore({ path: settings.sqlitePath, synchronous: settings.sqliteSynchronous });
}
