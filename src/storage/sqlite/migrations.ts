/**
 * Forward-only, numbered migrations for the SQLite backend. Never edit a
 * shipped entry; append a new one.
 */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'jobs and queues',
    sql: `
      CREATE TABLE jobs (
        seq              INTEGER PRIMARY KEY,   -- insertion order; the claim tie-breaker and the list cursor
        id               TEXT    NOT NULL UNIQUE,
        queue            TEXT    NOT NULL,
        type             TEXT    NOT NULL,
        payload          TEXT    NOT NULL,
        status           TEXT    NOT NULL,
        priority         INTEGER NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        timeout_ms       INTEGER,
        run_at           INTEGER NOT NULL,
        created_at       INTEGER NOT NULL,
        started_at       INTEGER,
        finished_at      INTEGER,
        updated_at       INTEGER NOT NULL,
        result           TEXT,
        errors           TEXT    NOT NULL DEFAULT '[]',
        progress         REAL,
        lease_token      TEXT,
        lease_expires_at INTEGER
      );
      -- Matches the claim query exactly: ready jobs of one queue in claim order.
      CREATE INDEX jobs_claim     ON jobs (queue, priority DESC, run_at, seq) WHERE status = 'pending';
      CREATE INDEX jobs_scheduled ON jobs (queue, run_at)                     WHERE status = 'scheduled';
      CREATE INDEX jobs_leases    ON jobs (lease_expires_at, queue)           WHERE status = 'processing';
      CREATE INDEX jobs_finished  ON jobs (queue, status, finished_at)        WHERE status IN ('completed', 'failed', 'cancelled');
      -- Lists by queue. Status is left out on purpose: then a claim or finish never
      -- touches this index. Measured draining 50k jobs at concurrency 50: with
      -- (queue, status, seq) plus (status, seq) 32k jobs/s, (queue, status, seq) 39k,
      -- (queue, seq) 44-48k. Counts come from the partial indexes above instead.
      CREATE INDEX jobs_list      ON jobs (queue, seq);
      CREATE TABLE queues (
        name   TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
];

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS jobq_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  // IMMEDIATE takes the write lock first, so two processes opening a new file migrate once.
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM jobq_migrations').get() as { v: number };
    for (const m of MIGRATIONS) {
      if (m.version <= row.v) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO jobq_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }
  });
  apply.immediate();
}
