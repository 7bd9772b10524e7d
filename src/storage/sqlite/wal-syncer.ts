/**
 * Durable commits without blocking the event loop. The connection commits
 * with synchronous=NORMAL (WAL frames reach the OS, no fsync), then this
 * fsyncs the WAL file on libuv's thread pool before anyone is told "done".
 * Once that fsync returns, the frames are on disk: the same guarantee as
 * synchronous=FULL, which would fsync inside COMMIT on the main thread
 * (0.175 ms here, during which no HTTP request can be parsed).
 *
 * The WAL is opened when the store opens, never on the first commit: an open
 * that failed after a commit (out of file descriptors) used to answer 503 for
 * a job that was stored, and a retrying client duplicated it.
 *
 * Calls that arrive while an fsync runs share the next one, so a burst of
 * commits costs at most two fsyncs in flight at a time.
 *
 * fdatasync, as SQLite itself uses on Linux: it flushes the data and any
 * metadata needed to read it back (a grown file's size), not the mtime.
 */
import { closeSync, constants, fdatasync, openSync } from 'node:fs';

export class WalSyncer {
  private readonly fd: number;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private closed = false;

  /** Opens (creating, mode 0600, if SQLite has not yet) the WAL file; throws if it cannot. */
  constructor(walPath: string) {
    // The WAL file keeps its inode while any connection is open (SQLite rewrites it from the start after a checkpoint).
    this.fd = openSync(walPath, constants.O_RDONLY | constants.O_CREAT, 0o600);
  }

  /** Resolves after an fsync that started after this call returned. */
  sync(): Promise<void> {
    if (!this.running) return this.start();
    this.next ??= this.running.then(() => {
      this.next = null;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    const run = new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new Error('WAL syncer closed'));
      fdatasync(this.fd, (err) => (err ? reject(err) : resolve()));
    });
    const settled: Promise<void> = run.then(
      () => {},
      () => {},
    ).then(() => {
      if (this.running === settled) this.running = null;
    });
    this.running = settled;
    return run;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
