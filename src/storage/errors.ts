/**
 * The errors every backend raises, in one place, so the same situation gets
 * the same code whatever the store: an unknown job, a closed store, a limit,
 * a database that cannot serve right now. Messages never carry file paths,
 * SQL or payload text; the cause (kept on the error) goes to the server log.
 */
import { JobqError } from '../contracts/errors.js';

export function storeClosed(): JobqError {
  return new JobqError('store_unavailable', 'the store is closed');
}

/** The database cannot serve right now (locked, read-only, gone, timed out, out of space…). */
export function storeUnavailable(reason: string, cause?: unknown): JobqError {
  return new JobqError('store_unavailable', `the database is unavailable (${reason}); retry later`, { cause });
}

export function tooManyQueues(maxQueues: number): JobqError {
  return new JobqError('capacity_exceeded', `the store holds its maximum of ${maxQueues} queues (--max-queues); use an existing queue`, {
    details: { limit: maxQueues },
  });
}

export function invalidCursor(): JobqError {
  return new JobqError('invalid_request', 'cursor is not one this server issued for this filter', { details: { field: 'cursor' } });
}

export function schemaTooNew(found: number, known: number): JobqError {
  return new JobqError(
    'store_unavailable',
    `the database schema is version ${found}, newer than this jobq knows (${known}); upgrade jobq before starting it on this database`,
    { details: { schemaVersion: found, supported: known } },
  );
}
