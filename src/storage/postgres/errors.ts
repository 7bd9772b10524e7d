/**
 * Postgres failures as jobq errors. A database that cannot serve — gone,
 * restarting, read-only, out of resources, a statement cancelled by its
 * timeout, jobq's schema missing — is store_unavailable, whatever the call.
 * The message names the SQLSTATE only: a driver error's detail can quote
 * payload text and must never reach a client or a log line.
 */
import { JobqError } from '../../contracts/errors.js';
import { storeUnavailable } from '../errors.js';
import { isTransient } from './transient.js';

/** SQLSTATE classes and codes that mean "the database cannot serve right now". */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', 'XX', '3D', '28']);
const UNAVAILABLE_CODES = new Set([
  '25006', // read_only_sql_transaction (a standby, or default_transaction_read_only)
  '42P01', // undefined_table: jobq's schema is gone
  '3F000', // invalid_schema_name
  '55P03', // lock_not_available (lock_timeout)
  '40001', // serialization_failure, after the retries
  '40P01', // deadlock_detected, after the retries
]);

export function isUnavailableCode(code: string | undefined): boolean {
  return code !== undefined && code.length === 5 && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLASSES.has(code.slice(0, 2)));
}

/** True when jobq's tables are missing (a database dropped and recreated, a schema dropped). */
export function isSchemaMissing(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '42P01' || code === '3F000';
}

export function mapPgError(err: unknown): unknown {
  if (err instanceof JobqError) return err;
  const code = (err as { code?: string } | null)?.code;
  if (isUnavailableCode(code)) return storeUnavailable(code!, err);
  if (isTransient(err)) return storeUnavailable(code ?? 'connection lost', err);
  return err;
}

/** A unique violation of the job id itself (the primary key since migration 10, not a key): our own retried insert. */
export function isOwnIdConflict(err: unknown): boolean {
  const cause = (err instanceof JobqError ? err.cause : err) as { code?: string; constraint?: string } | undefined;
  return cause?.code === '23505' && (cause.constraint === undefined || cause.constraint === 'jobs_pkey');
}
