/**
 * One SQLite connection as the backend's modules use it: cached prepared
 * statements, write transactions that take the lock up front, durable writes
 * fsynced off the main thread, and every failure mapped to a jobq error.
 */
import type Database from 'better-sqlite3';
import { JobqError } from '../../contracts/errors.js';
import { storeClosed } from '../errors.js';
import { mapSqliteError } from './errors.js';
import type { WalSyncer } from './wal-syncer.js';

export class SqliteConn {
  private readonly statements = new Map<string, Database.Statement>();
  closed = false;

  private readonly noWait: Database.Statement;
  private readonly wait: Database.Statement;

  constructor(
    readonly db: Database.Database,
    /** Null when synchronous is 'normal'. */
    private readonly walSyncer: WalSyncer | null,
    private readonly busyTimeoutMs: number,
  ) {
    this.noWait = db.prepare('PRAGMA busy_timeout = 0');
    this.wait = db.prepare(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  }

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

  /**
   * A write transaction that waits for another process's write lock without
   * blocking the event loop: SQLite's own busy handler sleeps on this thread
   * (1, 2, 5, 10 ms… per try), during which no request is read. Here BEGIN
   * IMMEDIATE is tried without waiting and, while another process holds the
   * lock, tried again on the next turn of the event loop (requests arriving
   * meanwhile join the batch) until busyTimeoutMs. Nothing was written when
   * BEGIN fails, so a retry is safe.
   */
  private async writeWhenFree<T>(fn: () => T): Promise<T> {
    this.assertOpen();
    const txn = this.db.transaction(fn);
    let deadline = 0;
    for (;;) {
      this.noWait.get();
      try {
        return txn.immediate();
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw mapSqliteError(err);
        const now = Date.now();
        deadline ||= now + this.busyTimeoutMs;
        if (now >= deadline) throw mapSqliteError(err);
      } finally {
        this.wait.get();
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.assertOpen();
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
   * A change a client is told about: committed, then fsynced off the main
   * thread before it resolves (`afterCommit` runs in between, e.g. to wake
   * other processes). An fsync failure after the commit is not
   * "nothing was stored": the error says the change was written and may exist.
   */
  async durable<T>(fn: () => T, afterCommit?: (result: T) => void): Promise<T> {
    const result = await this.writeWhenFree(fn);
    // Before the fsync: other processes can see the commit already (as their data_version poll would).
    afterCommit?.(result);
    if (this.walSyncer) {
      try {
        await this.walSyncer.sync();
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
