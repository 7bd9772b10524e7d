/** Opens the configured backend; each is imported only when chosen. */
import type { Logger } from 'pino';
import type { Store } from '../storage/store.js';
import type { ServerSettings } from './settings.js';

export async function openStore(settings: ServerSettings, logger: Logger): Promise<Store> {
  if (settings.store === 'memory') {
    const { MemoryStore } = await import('../storage/memory/index.js');
    return new MemoryStore({ maxActiveJobs: settings.memoryMaxJobs });
  }
  if (settings.store === 'postgres') {
    const { PostgresStore } = await import('../storage/postgres/index.js');
    return PostgresStore.open({
      connectionString: settings.databaseUrl!,
      schema: settings.pgSchema,
      poolSize: settings.pgPoolSize,
      listen: settings.listen,
      onWarning: (msg, err) => logger.warn({ err }, msg),
    });
  }
  const { SqliteStore } = await import('../storage/sqlite/index.js');
  return new SqliteStore({ path: settings.sqlitePath, synchronous: settings.sqliteSynchronous });
}
