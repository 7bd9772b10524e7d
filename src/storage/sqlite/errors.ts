/**
 * SQLite failures as jobq errors. Everything that says the database cannot
 * serve (locked, read-only, I/O error, full, gone, damaged, a table missing)
 * is store_unavailable: the client may retry later and /readyz says so. The
 * message names the SQLite code, never the file path.
 */
import { JobqError } from '../../contracts/errors.js';
import { storeUnavailable } from '../errors.js';

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|NOLFS|AUTH|PERM|NOMEM|INTERRUPT)/;

export function mapSqliteError(err: unknown): unknown {
  if (err instanceof JobqError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (UNAVAILABLE.test(code)) return storeUnavailable(code, err);
  // A table or column that is gone means the file is not (or no longer) a jobq database.
  if (code === 'SQLITE_ERROR' && /no such (table|column)/.test(e.message ?? '')) return storeUnavailable('schema missing', err);
  if (typeof e.message === 'string' && /database connection is not open/.test(e.message)) return storeUnavailable('closed', err);
  return err;
}
