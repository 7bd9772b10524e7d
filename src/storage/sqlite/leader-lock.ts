/**
 * Leadership on SQLite that ends with its process: an EXCLUSIVE transaction
 * held open on a small side database (`<path>.leader-<name>`). The operating
 * system drops that file lock the moment the holder dies, kill -9 included,
 * so another node takes over at its next attempt instead of waiting out a
 * lease. Other nodes try with no busy wait.
 */
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { LeaderLock } from '../../contracts/store.js';

export class FileLeaderLock implements LeaderLock {
  private db: Database.Database | null = null;

  constructor(private readonly path: string) {}

  async tryAcquire(): Promise<boolean> {
    if (this.db) return true;
    let db: Database.Database | null = null;
    try {
      if (!existsSync(this.path)) closeSync(openSync(this.path, constants.O_CREAT | constants.O_WRONLY, 0o600));
      db = new Database(this.path, { timeout: 0 });
      db.exec('BEGIN EXCLUSIVE');
      this.db = db;
      return true;
    } catch {
      db?.close();
      return false;
    }
  }

  async release(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db) {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    }
  }
}
