/**
 * SQLite by itself on jobq's file: one job at a time, the store's own insert
 * statement in its own BEGIN IMMEDIATE … COMMIT, then an fdatasync of the WAL,
 * as the store does for an acknowledged enqueue (synchronous=NORMAL commits,
 * WAL fsynced after). No jobq code runs per job, so this is the ceiling of a
 * durable one-at-a-time enqueue on this disk; bench:sequential prints jobq
 * against it.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { INSERT_JOB } from '../src/storage/sqlite/job-sql.js';

/** Inserts `n` jobs (after 300 untimed) into `path`, a file the SQLite store already created; jobs per second. */
export function sqliteAloneSequential(path: string, n: number): { jobsPerSec: number; elapsedMs: number } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(INSERT_JOB);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const wal = openSync(`${path}-wal`, 'r');
  const one = (seq: number) => {
    const now = Date.now();
    begin.run();
    insert.run(uuidv7(), 'default', 'noop', JSON.stringify({ seq }), 'pending', 0, 3, null, now, now, now, null, null, null);
    commit.run();
    fdatasyncSync(wal);
  };
  try {
    for (let i = 0; i < 300; i++) one(i);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) one(i);
    const ms = performance.now() - t0;
    return { jobsPerSec: (n / ms) * 1000, elapsedMs: ms };
  } finally {
    closeSync(wal);
    db.close();
  }
}
