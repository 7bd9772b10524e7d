/**
 * One SQLite connection as the backend's modules use it: cached prepared
 * statements, write transactions that take the lock up front, durable writes
 * fsynced before they resolve, and every failure mapped to a jobq error.
 */
import type Database from 'better-sqlite3';
import { JobqError } from '../../contracts/errors.js';
import { storeClosed } from '../errors.js';
import { mapSqliteError } from './errors.js';
import type { WalSyncer } from './wal-syncer.js';

export class SqliteConn {
  private readonly statements = new Map<string, Database.Statement>();
  closed = false;

  constructor(
    readonly db: Database.Database,
    /** Null when synchronous is 'normal'. */
    private readonly walSyncer: WalSyncer | null,
  ) {}

  /** A prepared statement, prepared once per SQL text. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  assertOpen(): void {
    if (this.closed) throw storeClosed();
  }

  /** Runs `fn` in a write transaction, taking the lock up front (BEGIN IMMEDIATE). */
  write<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  read<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  /**
   * A change a client is told about: committed, then fsynced before it
   * resolves (`afterCommit` runs in between, e.g. to wake other processes).
   * An fsync failure after the commit is not "nothing was stored": the error
   * says the change was written and may exist.
   */
  async durable<T>(fn: () => T, afterCommit?: (result: T) => void): Promise<T> {
    const result = this.write(fn);
    // Before the fsync: other processes can see the commit already (as their data_version poll would).
    afterCommit?.(result);
    if (this.walSyncer) {
      try {
        this.walSyncer.sync();
      } catch (err) {
        throw new JobqError(
          'store_unavailable',
          `the change was written but could not be flushed to disk (fsync: ${(err as { code?: string }).code ?? 'error'}); it may exist: check before retrying`,
          { cause: err, details: { written: true } },
        );
      }
    }
    return result;
  }
}
