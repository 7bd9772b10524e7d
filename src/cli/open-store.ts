/** Opens the store the settings name, loading only that backend's driver. A store that cannot open is a start-up failure naming its flag. */
import type { Logger } from 'pino';
import type { Store } from '../contracts/store.js';
import type { ServerSettings } from './settings.js';
import { StartupError } from './startup-error.js';

export async function openStore(settings: ServerSettings, logger: Logger): Promise<Store> {
  try {
    return await open(settings, logger);
  } catch (err) {
    const e = err as { message?: string; code?: string } | null;
    const why =
      e?.code === 'ERR_MODULE_NOT_FOUND' && /'pg'/.test(e.message ?? '')
        ? 'the pg package is not installed (it is an optional dependency: npm install pg)'
        : String(e?.message ?? err)
            .replace(/^cannot open the \w+ (database|store): /, '')
            .replace(/; retry later$/, '');
    if (settings.store === 'postgres') {
      // Never the URL itself: it may hold a password.
      throw new StartupError(`cannot open the Postgres store (--database-url, JOBQ_DATABASE_URL): ${why}`);
    }
    if (settings.store === 'sqlite') throw new StartupError(`cannot open the SQLite database ${settings.sqlitePath} (--sqlite-path, JOBQ_SQLITE_PATH): ${why}`);
    throw new StartupError(`cannot open the ${settings.store} store (--store, JOBQ_STORE): ${why}`);
  }
}

async function open(settings: ServerSettings, logger: Logger): Promise<Store> {
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
      prepare: settings.prepare,
      // Only the code and message of a driver error: its detail can quote payload text.
      onWarning: (msg, err) => logger.warn({ err: summary(err) }, msg),
    });
  }
  const { SqliteStore } = await import('../storage/sqlite/index.js');
  return new SqliteStore({ path: settings.sqlitePath, synchronous: settings.sqliteSynchronous, cacheKiB: settings.sqliteCacheKib });
}

function summary(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { code: e?.code, message: e?.message };
}
