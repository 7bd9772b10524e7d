/** The SQLite backend's defaults and path rule, importable without loading the driver (the CLI builds its settings from them). */
import { JobqError } from '../../contracts/errors.js';

export const SQLITE_DEFAULTS = Object.freeze({ path: 'jobq.db', synchronous: 'full' as 'full' | 'normal', busyTimeoutMs: 5000, watchIntervalMs: 50, cacheKiB: 2000 });

/** Paths that would give a database nobody else can see and nothing survives: refused. */
export function checkSqlitePath(path: string): void {
  if (path.trim() === '' || path === ':memory:' || path.startsWith('file::memory:') || /^file:.*mode=memory/.test(path)) {
    throw new JobqError('invalid_option', `SQLite path "${path}" is not a file: jobq needs a database file to be durable`, { details: { field: 'path' } });
  }
}
