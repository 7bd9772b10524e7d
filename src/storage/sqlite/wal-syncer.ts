/**
 * Durable commits, and only those. The connection commits with
 * synchronous=NORMAL (WAL frames reach the OS, no fsync), then this
 * fdatasyncs the WAL file before anyone is told "done": the guarantee of
 * synchronous=FULL for the changes a client is told about, while a worker's
 * own transitions (claims, finishes) are not fsynced one by one.
 *
 * On the main thread. It used to run on libuv's thread pool, so that no
 * HTTP request waited behind an fsync; the two hops to the pool and back
 * cost more than they saved (2026-11-29, SQLite, alternated runs):
 * sequential library enqueue 3,159-4,398 jobs/s against 2,551-3,091, 50
 * concurrent callers 41.4-65.4k against 39.7-49.7k, HTTP enqueue over 50
 * connections 14.6-17.1k against 14.1-16.8k req/s (3 runs each). What a group commit
 * gathers while the loop is blocked goes in the next transaction.
 *
 * The WAL is opened when the store opens, never on the first commit: an open
 * that failed after a commit (out of file descriptors) used to answer 503 for
 * a job that was stored, and a retrying client duplicated it.
 *
 * fdatasync, as SQLite itself uses on Linux: it flushes the data and any
 * metadata needed to read it back (a grown file's size), not the mtime.
 */
import { closeSync, constants, fdatasyncSync, openSync } from 'node:fs';

export class WalSyncer {
  private readonly fd: number;
  private closed = false;

  /** Opens (creating, mode 0600, if SQLite has not yet) the WAL file; throws if it cannot. */
  constructor(walPath: string) {
    // The WAL file keeps its inode while any connection is open (SQLite rewrites it from the start after a checkpoint).
    this.fd = openSync(walPath, constants.O_RDONLY | constants.O_CREAT, 0o600);
  }

  /** Returns once everything committed so far is on disk; throws what fdatasync threw. */
  sync(): void {
    if (this.closed) throw new Error('WAL syncer closed');
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
