/** Opens the store the settings name, loading only that backend's driver. */
import type { Logger } from 'pino';
import type { Store } from '../contracts/store.js';
import type { ServerSettings } from './settings.js';

export async function openStore(settings: ServerSettings, logger: Logger): Promise<Store> {
  if (settings.store === 'memory') {
    const { MemoryStore } = await import('../storage/memory/index.js');
    return new MemoryStore({ maxActiveJobs: settings.memoryMaxJobs, maxBytes: settings.memoryMaxBytes });
  }
  if (settings.store === 'postgres') {
    const { PostgresStore } = await import('../storage/postgres/index.js');
    return PostgresStore.open({
      connectionString: settings.databaseUrl!,
      schema: settings.pgSchema,
      poolSize: settings.pgPoolSize,
      listen: settings.listen,
      // Only the code and message of a driver error: its detail can quote payload text.
      onWarning: (msg, err) => logger.warn({ err: summary(err) }, msg),
    });
  }
  const { SqliteStore } = await import('../storage/sqlite/index.js');
  return new SqliteStore({ path: settings.sqlitePath, synchronous: settings.sqliteSynchronous });
}

function summary(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { code: e?.code, message: e?.message };
}
