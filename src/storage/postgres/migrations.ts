/**
 * Forward-only, numbered migrations for the Postgres backend, applied under
 * a transaction-scoped advisory lock so that twenty nodes starting at once
 * migrate exactly once. Never edit a shipped entry; append a new one.
 * Times are epoch ms (bigint), like every other backend.
 */
import type pg from 'pg';
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
];

/** An advisory-lock key per schema, so separate schemas migrate independently. */
function lockKey(schema: string): number {
  let h = 0;
  for (const ch of `jobq:${schema}`) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
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
