/**
 * Forward-only, numbered migrations for the SQLite backend. Never edit a
 * shipped entry; append a new one. A database whose schema is newer than
 * this code is refused: an older jobq must not write to it.
 */

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
      CREATE INDEX jobs_claim     ON jobs (queue, priority DESC, run_at, seq) WHERE status = 'pending';
      CREATE INDEX jobs_scheduled ON jobs (queue, run_at)                     WHERE status = 'scheduled';
      CREATE INDEX jobs_leases    ON jobs (lease_expires_at, queue)           WHERE status = 'processing';
      CREATE INDEX jobs_finished  ON jobs (queue, status, finished_at)        WHERE status IN ('completed', 'failed', 'cancelled');
      CREATE INDEX jobs_list      ON jobs (queue, seq);
      CREATE TABLE queues (
        name   TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    version: 2,
    name: 'claims by type, an index per listing, queue registry, nodes, leaders, events',
    sql: `
      -- Claims take only the types a node handles: one index range per type.
      DROP INDEX jobs_claim;
      CREATE INDEX jobs_claim ON jobs (queue, type, priority DESC, run_at, seq) WHERE status = 'pending';
      DROP INDEX jobs_scheduled;
      CREATE INDEX jobs_scheduled ON jobs (queue, run_at, seq) WHERE status = 'scheduled';
      DROP INDEX jobs_leases;
      CREATE INDEX jobs_leases ON jobs (lease_expires_at, seq) WHERE status = 'processing';
      -- One partial index per finished status instead of one for all three: a completion
      -- still touches one index, and each status lists, counts and prunes from its own.
      DROP INDEX jobs_finished;
      CREATE INDEX jobs_completed ON jobs (queue, finished_at, seq) WHERE status = 'completed';
      CREATE INDEX jobs_failed    ON jobs (queue, finished_at, seq) WHERE status = 'failed';
      CREATE INDEX jobs_cancelled ON jobs (queue, finished_at, seq) WHERE status = 'cancelled';
      -- Every queue has a row (bounded by --max-queues), so queues list a page at a time.
      ALTER TABLE queues ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
      INSERT OR IGNORE INTO queues (name, paused) SELECT DISTINCT queue, 0 FROM jobs;
      CREATE TABLE nodes (
        id           TEXT PRIMARY KEY,
        info         TEXT NOT NULL,       -- JSON: queues, types, host, pid, startedAt
        heartbeat_at INTEGER NOT NULL
      );
      CREATE TABLE leaders (
        name       TEXT PRIMARY KEY,
        node_id    TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      -- Events for other processes, written only while some process subscribes; kept briefly.
      CREATE TABLE events (
        seq     INTEGER PRIMARY KEY,
        node_id TEXT NOT NULL,
        at      INTEGER NOT NULL,
        body    TEXT NOT NULL         -- JSON array of the batch's events
      );
      CREATE TABLE subscribers (
        node_id    TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'unique keys, dependencies, schedules',
    sql: `
      ALTER TABLE jobs ADD COLUMN key TEXT;
      -- The key while the job holds it (NULL once released): one holder per key, enforced here.
      ALTER TABLE jobs ADD COLUMN unique_key TEXT;
      ALTER TABLE jobs ADD COLUMN key_until INTEGER;
      CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
      ALTER TABLE jobs ADD COLUMN depends_on TEXT;                       -- JSON array of ids, or NULL
      ALTER TABLE jobs ADD COLUMN on_dep_failure TEXT;
      ALTER TABLE jobs ADD COLUMN pending_deps INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN has_dependents INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX jobs_waiting ON jobs (queue, seq) WHERE status = 'waiting';
      CREATE TABLE job_deps (
        depends_on TEXT NOT NULL,
        job_id     TEXT NOT NULL,
        PRIMARY KEY (depends_on, job_id)
      ) WITHOUT ROWID;
      CREATE TABLE schedules (
        name        TEXT PRIMARY KEY,
        cron        TEXT NOT NULL,
        tz          TEXT NOT NULL,
        job         TEXT NOT NULL,          -- JSON: what each slot enqueues
        catch_up    TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        next_run_at INTEGER,
        last_run_at INTEGER,
        last_job_id TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;
    `,
  },
  {
    version: 4,
    name: 'flow control: queue limits, concurrency and rate keys, rate windows, holds',
    sql: `
      ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
      ALTER TABLE jobs ADD COLUMN rate_key TEXT;
      -- Keyed jobs only, so a keyless job costs nothing more: one range per key, in claim order.
      CREATE INDEX jobs_claim_key ON jobs (queue, concurrency_key, priority DESC, run_at, seq) WHERE status = 'pending' AND concurrency_key IS NOT NULL;
      ALTER TABLE queues ADD COLUMN settings TEXT;          -- JSON QueueSettings, NULL when no limit
      ALTER TABLE queues ADD COLUMN rr_cursor TEXT;         -- the key the last claim served (round robin)
      CREATE TABLE rate_starts (
        queue TEXT NOT NULL,
        key   TEXT NOT NULL,                                -- '' for the queue's own window
        at    INTEGER NOT NULL
      );
      CREATE INDEX rate_starts_window ON rate_starts (queue, key, at);
      CREATE TABLE holds (
        queue TEXT NOT NULL,
        key   TEXT NOT NULL,                                -- '' holds the whole queue
        until INTEGER NOT NULL,
        PRIMARY KEY (queue, key)
      );
    `,
  },
  {
    version: 5,
    name: 'API tokens with scopes; the trace context an enqueue carried',
    sql: `
      -- W3C trace context of the enqueue ({"traceparent","tracestate"} as JSON), NULL without a tracer.
      ALTER TABLE jobs ADD COLUMN trace_context TEXT;
      CREATE TABLE tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        hash         TEXT NOT NULL UNIQUE,                    -- SHA-256 of the secret, hex; the secret is never stored
        scopes       TEXT NOT NULL,                           -- JSON array of scope names
        queues       TEXT,                                    -- JSON array of queue names; NULL for every queue
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
      );
    `,
  },
  {
    version: 6,
    name: 'wake-up listeners: the loopback UDP port of each process watching for work',
    sql: `
      CREATE TABLE wake_listeners (
        port       INTEGER PRIMARY KEY,   -- 127.0.0.1 UDP port; a datagram there wakes that process's dispatch loops
        expires_at INTEGER NOT NULL       -- refreshed while the process lives; a killed one's row simply expires
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
