/**
 * Forward-only, numbered migrations for the Postgres backend, applied under
 * a transaction-scoped advisory lock so that twenty nodes starting at once
 * migrate exactly once. Never edit a shipped entry; append a new one.
 * Times are epoch ms (bigint), like every other backend.
 */
import type pg from 'pg';
import { schemaTooNew } from '../errors.js';
import { advisoryKey } from './leader-lock.js';
import { ACTIVE } from './ordering.js';
import { dropIdleOutboxInsert, outboxBatchMigration, outboxMigration } from './outbox-schema.js';
import { inTransaction } from './transaction.js';

export const MIGRATIONS: readonly { version: number; name: string; sql: (s: string) => string }[] = [
  {
    version: 1,
    name: 'jobs and queues',
    sql: (s) => `
      CREATE TABLE ${s}.jobs (
        seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id               uuid NOT NULL UNIQUE,
        queue            text NOT NULL,
        type             text NOT NULL,
        payload          json NOT NULL,           -- json, not jsonb: kept byte for byte as sent
        status           text NOT NULL,
        priority         integer NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        max_attempts     integer NOT NULL,
        timeout_ms       integer,
        run_at           bigint NOT NULL,
        created_at       bigint NOT NULL,
        started_at       bigint,
        finished_at      bigint,
        updated_at       bigint NOT NULL,
        result           json,
        errors           jsonb NOT NULL DEFAULT '[]',
        progress         double precision,
        lease_token      text,
        lease_expires_at bigint
      );
      CREATE INDEX jobs_claim     ON ${s}.jobs (queue, priority DESC, run_at, seq) WHERE status = 'pending';
      CREATE INDEX jobs_scheduled ON ${s}.jobs (queue, run_at)                     WHERE status = 'scheduled';
      CREATE INDEX jobs_leases    ON ${s}.jobs (lease_expires_at)                  WHERE status = 'processing';
      CREATE INDEX jobs_finished  ON ${s}.jobs (queue, status, finished_at)        WHERE status IN ('completed', 'failed', 'cancelled');
      CREATE INDEX jobs_list      ON ${s}.jobs (queue, seq);
      CREATE TABLE ${s}.queues (
        name   text PRIMARY KEY,
        paused boolean NOT NULL DEFAULT false
      );
    `,
  },
  {
    version: 2,
    name: 'claims by type, an index per listing, queue registry, nodes, leaders, subscribers',
    sql: (s) => `
      -- Claims take only the types a node handles: one index range per type.
      DROP INDEX ${s}.jobs_claim;
      CREATE INDEX jobs_claim ON ${s}.jobs (queue, type, priority DESC, run_at, seq) WHERE status = 'pending';
      DROP INDEX ${s}.jobs_scheduled;
      CREATE INDEX jobs_scheduled ON ${s}.jobs (queue, run_at, seq) WHERE status = 'scheduled';
      DROP INDEX ${s}.jobs_leases;
      CREATE INDEX jobs_leases ON ${s}.jobs (lease_expires_at, seq) WHERE status = 'processing';
      -- One partial index per finished status: a completion still touches one index, and
      -- each status lists, counts and prunes from its own.
      DROP INDEX ${s}.jobs_finished;
      CREATE INDEX jobs_completed ON ${s}.jobs (queue, finished_at, seq) WHERE status = 'completed';
      CREATE INDEX jobs_failed    ON ${s}.jobs (queue, finished_at, seq) WHERE status = 'failed';
      CREATE INDEX jobs_cancelled ON ${s}.jobs (queue, finished_at, seq) WHERE status = 'cancelled';
      ALTER TABLE ${s}.queues ADD COLUMN created_at bigint NOT NULL DEFAULT 0;
      INSERT INTO ${s}.queues (name) SELECT DISTINCT queue FROM ${s}.jobs ON CONFLICT DO NOTHING;
      CREATE TABLE ${s}.nodes (
        id           text PRIMARY KEY,
        info         jsonb NOT NULL,
        heartbeat_at bigint NOT NULL
      );
      CREATE TABLE ${s}.leaders (
        name       text PRIMARY KEY,
        node_id    text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE TABLE ${s}.subscribers (
        node_id    text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'unique keys, dependencies, schedules',
    sql: (s) => `
      ALTER TABLE ${s}.jobs ADD COLUMN key text;
      -- The key while the job holds it (NULL once released): one holder per key, enforced here.
      ALTER TABLE ${s}.jobs ADD COLUMN unique_key text;
      ALTER TABLE ${s}.jobs ADD COLUMN key_until bigint;
      CREATE UNIQUE INDEX jobs_unique_key ON ${s}.jobs (unique_key) WHERE unique_key IS NOT NULL;
      ALTER TABLE ${s}.jobs ADD COLUMN depends_on jsonb;
      ALTER TABLE ${s}.jobs ADD COLUMN on_dep_failure text;
      ALTER TABLE ${s}.jobs ADD COLUMN pending_deps integer NOT NULL DEFAULT 0;
      ALTER TABLE ${s}.jobs ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;
      CREATE INDEX jobs_waiting ON ${s}.jobs (queue, seq) WHERE status = 'waiting';
      CREATE TABLE ${s}.job_deps (
        depends_on uuid NOT NULL,
        job_id     uuid NOT NULL,
        PRIMARY KEY (depends_on, job_id)
      );
      CREATE INDEX job_deps_job ON ${s}.job_deps (job_id);
      CREATE TABLE ${s}.schedules (
        name        text PRIMARY KEY,
        cron        text NOT NULL,
        tz          text NOT NULL,
        job         jsonb NOT NULL,
        catch_up    text NOT NULL,
        paused      boolean NOT NULL DEFAULT false,
        next_run_at bigint,
        last_run_at bigint,
        last_job_id uuid,
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL
      );
      CREATE INDEX schedules_due ON ${s}.schedules (next_run_at) WHERE NOT paused;
    `,
  },
  {
    version: 4,
    name: 'flow control: queue limits, concurrency and rate keys, rate windows, holds',
    sql: (s) => `
      ALTER TABLE ${s}.jobs ADD COLUMN concurrency_key text;
      ALTER TABLE ${s}.jobs ADD COLUMN rate_key text;
      -- Keyed jobs only, so a keyless job costs nothing more: one range per key, in claim order.
      CREATE INDEX jobs_claim_key ON ${s}.jobs (queue, concurrency_key, priority DESC, run_at, seq) WHERE status = 'pending' AND concurrency_key IS NOT NULL;
      ALTER TABLE ${s}.queues ADD COLUMN settings jsonb;
      ALTER TABLE ${s}.queues ADD COLUMN rr_cursor text;
      CREATE TABLE ${s}.rate_starts (
        queue text NOT NULL,
        key   text NOT NULL,
        at    bigint NOT NULL
      );
      CREATE INDEX rate_starts_window ON ${s}.rate_starts (queue, key, at);
      CREATE TABLE ${s}.holds (
        queue text NOT NULL,
        key   text NOT NULL,
        until bigint NOT NULL,
        PRIMARY KEY (queue, key)
      );
    `,
  },
  { version: 5, name: 'ordering keys, transactional outbox and ingest positions for Kafka', sql: outboxMigration },
  {
    version: 6,
    name: 'API tokens with scopes; the trace context an enqueue carried',
    sql: (s) => `
      -- W3C trace context of the enqueue ({"traceparent","tracestate"}), NULL without a tracer.
      ALTER TABLE ${s}.jobs ADD COLUMN trace_context jsonb;
      CREATE TABLE ${s}.tokens (
        id           uuid PRIMARY KEY,
        name         text NOT NULL UNIQUE,
        hash         text NOT NULL UNIQUE,                    -- SHA-256 of the secret, hex; the secret is never stored
        scopes       jsonb NOT NULL,                          -- array of scope names
        queues       jsonb,                                   -- array of queue names; NULL for every queue
        created_at   bigint NOT NULL,
        last_used_at bigint,
        revoked_at   bigint
      );
    `,
  },
  {
    version: 7,
    name: 'queues that hold ordering keys are marked, so other claims skip the ordering check',
    sql: (s) => `
      -- Set by a trigger when the first job with an ordering key is inserted, in the same transaction:
      -- a claim that sees such a job sees the mark too. Never cleared.
      ALTER TABLE ${s}.queues ADD COLUMN ordered boolean NOT NULL DEFAULT false;
      -- Queues that hold unfinished jobs with an ordering key (read through jobs_ordering; finished ones order nothing).
      INSERT INTO ${s}.queues (name, ordered)
        SELECT DISTINCT queue, true FROM ${s}.jobs WHERE ordering_key IS NOT NULL AND status IN ${ACTIVE}
        ON CONFLICT (name) DO UPDATE SET ordered = true;
      CREATE FUNCTION ${s}.mark_ordered() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Locks the queue's row only the first time (an upsert would lock it on every insert).
        IF NOT EXISTS (SELECT 1 FROM ${s}.queues WHERE name = NEW.queue AND ordered) THEN
          INSERT INTO ${s}.queues (name, ordered) VALUES (NEW.queue, true) ON CONFLICT (name) DO UPDATE SET ordered = true;
        END IF;
        RETURN NULL;
      END $$;
      -- The WHEN clause is checked without calling the function: jobs without an ordering key pay nothing.
      CREATE TRIGGER jobs_mark_ordered AFTER INSERT ON ${s}.jobs FOR EACH ROW WHEN (NEW.ordering_key IS NOT NULL) EXECUTE FUNCTION ${s}.mark_ordered();
    `,
  },
  { version: 8, name: 'the outbox insert trigger only where broker dispatch runs (a disabled one still collects every inserted row)', sql: dropIdleOutboxInsert },
  { version: 9, name: 'one outbox row per statement and queue, holding its job ids', sql: outboxBatchMigration },
  {
    version: 10,
    name: 'processing jobs stay out of the creation-order indexes; id is the primary key',
    sql: (s) => `
      -- A status change rewrites the row's entry in every index whose predicate it meets. A claim
      -- used to add one to jobs_pkey (seq) and jobs_list (queue, seq) too; a listing in creation
      -- order now reads the processing jobs, few, through jobs_leases (lists.ts). A concurrency-50
      -- drain cost Postgres 11 to 17 % less CPU per job (bench:pg-cost, 2026-11-30).
      -- Idempotent, like 8 and 9 (run again, it builds the same indexes again).
      ALTER TABLE ${s}.jobs DROP CONSTRAINT jobs_pkey, DROP CONSTRAINT IF EXISTS jobs_id_key, ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);
      DROP INDEX IF EXISTS ${s}.jobs_seq;
      CREATE INDEX jobs_seq ON ${s}.jobs (seq) WHERE status <> 'processing';
      DROP INDEX ${s}.jobs_list;
      CREATE INDEX jobs_list ON ${s}.jobs (queue, seq) WHERE status <> 'processing';
    `,
  },
  {
    version: 11,
    name: 'no jobs_seq: a listing of everything walks the primary key, in id order',
    sql: (s) => `
      -- Every insert and every finish added an entry to jobs_seq, for one listing: all jobs, no
      -- filter. That listing now goes by id, a UUIDv7 that starts with the millisecond the job was
      -- made, through jobs_pkey, which every job is in anyway (storage/list-order.ts). Server CPU,
      -- 5 rounds alternated with migration 10's schema (2026-11-30): a concurrency-50 drain 0.72 ->
      -- 0.69 s per 10,000 jobs (bench:pg-cost), a 1,000-job COPY 13.6 -> 12.4 ms (medians).
      DROP INDEX IF EXISTS ${s}.jobs_seq;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** An advisory-lock key per schema, so separate schemas migrate independently. */
function lockKey(schema: string): number {
  return advisoryKey(`jobq:${schema}`);
}

/** Applies what is missing; returns the versions this call applied (empty when another node did it). */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const s = quoteIdent(schema);
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey(schema)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.jobq_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${s}.jobq_migrations`);
    const applied: number[] = [];
    if (rows[0]!.v > SCHEMA_VERSION) throw schemaTooNew(rows[0]!.v, SCHEMA_VERSION);
    for (const m of MIGRATIONS) {
      if (m.version <= rows[0]!.v) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.jobq_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  if (!SCHEMA_NAME_PATTERN.test(name)) throw new Error(`schema name "${name}" must match ${SCHEMA_NAME_PATTERN.source}`);
  return `"${name}"`;
}
