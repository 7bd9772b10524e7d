/**
 * Brings a SQLite file up to SCHEMA_VERSION, once per file even when several
 * processes open it at the same moment. Kept apart from the migration list
 * (migrations.ts, exported by `jobq/sqlite`) so that the published
 * declarations of that list need no better-sqlite3 types.
 */
import type Database from 'better-sqlite3';
import { schemaTooNew } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS jobq_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  // IMMEDIATE takes the write lock first, so two processes opening a new file migrate once.
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM jobq_migrations').get() as { v: number };
    if (row.v > SCHEMA_VERSION) throw schemaTooNew(row.v, SCHEMA_VERSION);
    for (const m of MIGRATIONS) {
      if (m.version <= row.v) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO jobq_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }
  });
  apply.immediate();
}
