/**
 * Durable commits without blocking the event loop. The connection commits
 * with synchronous=NORMAL (WAL frames reach the OS, no fsync), then this
 * fsyncs the WAL file on libuv's thread pool before anyone is told "done".
 * Once that fsync returns, the frames are on disk: the same guarantee as
 * synchronous=FULL, which would fsync inside COMMIT on the main thread
 * (0.175 ms here, during which no HTTP request can be parsed).
 *
 * Calls that arrive while an fsync runs share the next one, so a burst of
 * commits costs at most two fsyncs in flight at a time.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class WalSyncer {
  private handle: Promise<FileHandle> | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

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
    // The WAL file keeps its inode for the life of our connection (SQLite reuses it from the start after a checkpoint).
    const handle = (this.handle ??= open(this.walPath, 'r'));
    // A failed open is not cached: the next call tries again.
    handle.catch(() => {
      if (this.handle === handle) this.handle = null;
    });
    const run = handle.then((h) => h.sync());
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
    const h = this.handle;
    this.handle = null;
    if (h) await h.then((fh) => fh.close()).catch(() => {});
  }
}
