/**
 * Migration 5: ordering keys and the transactional outbox for broker
 * dispatch (jobq/kafka).
 *
 * The outbox is filled by triggers, so every path that makes a job pending
 * (insert, retry now, graceful release, rescue, promotion of a due scheduled
 * job, a dependency completing, a manual retry) writes its entry in the same
 * transaction, whichever module wrote the SQL: a job is never published
 * before it is committed, and a crash between commit and publication only
 * delays it. Two more entries keep ordered keys and paused queues moving: a
 * job with an ordering key that ends publishes the next one of its key, and
 * a resumed queue publishes its pending jobs.
 *
 * The update triggers are created disabled, and the insert trigger is
 * dropped again by migration 8: a deployment without broker dispatch pays
 * nothing. enableOutbox() (outbox.ts) creates and turns them on for the
 * schema the first time a node starts with broker dispatch.
 */
import { ORDERING_INDEX } from './ordering.js';

/**
 * The insert trigger collects every inserted row into a transition table,
 * and Postgres collects it even while the trigger is disabled (measured: 0.3
 * of 6.4 ms per 1,000-job insert). So it exists only in a schema that runs
 * broker dispatch: migration 8 drops it where it was never enabled, and
 * enableOutbox() creates it.
 */
export const OUTBOX_INSERT_TRIGGER = (s: string) => `CREATE TRIGGER kafka_outbox_insert AFTER INSERT ON ${s}.jobs
      REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION ${s}.kafka_outbox_inserted()`;

/** Migration 8: drops the insert trigger where it is disabled (see OUTBOX_INSERT_TRIGGER). */
export function dropIdleOutboxInsert(s: string): string {
  // `s` is the quoted name of a schema matching SCHEMA_NAME_PATTERN (no quotes inside); pg_namespace holds it bare.
  const bare = s.slice(1, -1);
  return `
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = '${bare}' AND t.tgname = 'kafka_outbox_insert' AND t.tgenabled = 'D') THEN
        DROP TRIGGER kafka_outbox_insert ON ${s}.jobs;
      END IF;
    END $$;
  `;
}

export const OUTBOX_TRIGGERS = [
  { table: 'jobs', name: 'kafka_outbox_insert' },
  { table: 'jobs', name: 'kafka_outbox_ready' },
  { table: 'jobs', name: 'kafka_outbox_next_in_line' },
  { table: 'queues', name: 'kafka_outbox_resumed' },
] as const;

const FINISHED = `('completed', 'failed', 'cancelled')`;

/** In a trigger on a job of an ordering key that ended: the first unfinished job of its key, as `h`. */
const HEAD_OF_LINE = (s: string) => `(
        SELECT id, queue, ordering_key, status FROM ${s}.jobs
         WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND status IN ('waiting', 'scheduled', 'pending', 'processing')
         ORDER BY seq LIMIT 1) h`;

export function outboxMigration(s: string): string {
  // The store's wake-up channel (postgres-store.ts): a job made pending by an update (a retry, a
  // rescue, a promotion, a release) wakes the relay at once instead of at its next poll. Postgres
  // sends one notification per channel and payload per transaction, however many rows.
  const channel = `jobq_${s.slice(1, -1)}`;
  return `
    ALTER TABLE ${s}.jobs ADD COLUMN ordering_key text;
    ${ORDERING_INDEX(s)};
    CREATE TABLE ${s}.kafka_outbox (
      seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      job_id       uuid NOT NULL,
      queue        text NOT NULL,
      ordering_key text,
      created_at   bigint NOT NULL
    );
    -- Topic ingest: the next offset to read of each partition, moved in the transaction that inserts its jobs.
    CREATE TABLE ${s}.kafka_ingest_offsets (
      consumer    text NOT NULL,
      topic       text NOT NULL,
      partition   integer NOT NULL,
      next_offset bigint NOT NULL,
      PRIMARY KEY (consumer, topic, partition)
    );
    -- One call per INSERT statement (a batch of 1,000 jobs is one INSERT … SELECT here).
    CREATE FUNCTION ${s}.kafka_outbox_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (job_id, queue, ordering_key, created_at)
      SELECT id, queue, ordering_key, updated_at FROM new_jobs WHERE status = 'pending' ORDER BY seq;
      RETURN NULL;
    END $fn$;
    ${OUTBOX_INSERT_TRIGGER(s)};
    -- Row triggers with WHEN clauses: the condition is checked without a function call, so
    -- heartbeats, claims and completions (the bulk of all updates) cost nothing extra.
    CREATE FUNCTION ${s}.kafka_outbox_ready() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (job_id, queue, ordering_key, created_at) VALUES (NEW.id, NEW.queue, NEW.ordering_key, NEW.updated_at);
      PERFORM pg_notify('${channel}', NEW.queue);
      RETURN NULL;
    END $fn$;
    CREATE TRIGGER kafka_outbox_ready AFTER UPDATE OF status ON ${s}.jobs
      FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending') EXECUTE FUNCTION ${s}.kafka_outbox_ready();
    -- A job of an ordering key ended: its successor may have been skipped while it ran; publish it again.
    CREATE FUNCTION ${s}.kafka_outbox_next_in_line() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (job_id, queue, ordering_key, created_at)
      SELECT h.id, h.queue, h.ordering_key, NEW.updated_at FROM ${HEAD_OF_LINE(s)}
       WHERE h.status = 'pending';
      IF FOUND THEN PERFORM pg_notify('${channel}', NEW.queue); END IF;
      RETURN NULL;
    END $fn$;
    CREATE TRIGGER kafka_outbox_next_in_line AFTER UPDATE OF status ON ${s}.jobs
      FOR EACH ROW WHEN (NEW.ordering_key IS NOT NULL AND NEW.status IN ${FINISHED} AND OLD.status NOT IN ${FINISHED})
      EXECUTE FUNCTION ${s}.kafka_outbox_next_in_line();
    -- Records of a paused queue are skipped by the claims; resuming publishes what waits.
    CREATE FUNCTION ${s}.kafka_outbox_resumed() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (job_id, queue, ordering_key, created_at)
      SELECT id, queue, ordering_key, updated_at FROM ${s}.jobs WHERE status = 'pending' AND queue = NEW.name ORDER BY priority DESC, run_at, seq;
      RETURN NULL;
    END $fn$;
    CREATE TRIGGER kafka_outbox_resumed AFTER UPDATE OF paused ON ${s}.queues
      FOR EACH ROW WHEN (OLD.paused AND NOT NEW.paused) EXECUTE FUNCTION ${s}.kafka_outbox_resumed();
    ${OUTBOX_TRIGGERS.map((t) => `ALTER TABLE ${s}.${t.table} DISABLE TRIGGER ${t.name};`).join('\n    ')}
  `;
}

/**
 * Jobs per outbox row at most: 100 ids (1.6 kB) keep a row under Postgres's
 * 2 kB TOAST threshold, so no row is stored out of line, and resuming a queue
 * with a large backlog writes many bounded rows rather than one huge one.
 */
export const OUTBOX_ROW_JOBS = 100;

/** The row number (0, 1, …) of a job within its group of OUTBOX_ROW_JOBS, in the given order, per queue. */
const part = (order: string) => `(row_number() OVER (PARTITION BY queue ORDER BY ${order}) - 1) / ${OUTBOX_ROW_JOBS}`;

/**
 * Migration 9: an outbox row holds up to OUTBOX_ROW_JOBS jobs one statement
 * made pending in one queue (`job_ids`, with their `ordering_keys`, in seq
 * order), not one row per job. A 500-job enqueue writes 5 rows instead of
 * 500, and the relay reads and deletes 5. Measured alone (two runs each),
 * writing, reading and deleting one row per job cost Postgres 0.035-0.05 CPU
 * s per 10,000 jobs, about what claims by id save over SKIP LOCKED; rows of
 * up to 100 jobs cost 0.01-0.035 (the insert's share is noisy). Rows
 * waiting at upgrade time are converted in place. `s` is a quoted schema
 * name matching SCHEMA_NAME_PATTERN, as in dropIdleOutboxInsert.
 */
export function outboxBatchMigration(s: string): string {
  const bare = s.slice(1, -1);
  const channel = `jobq_${bare}`;
  // Idempotent, like migration 8: the table is reshaped only while it has the old shape.
  return `
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '${bare}' AND table_name = 'kafka_outbox' AND column_name = 'job_id') THEN
        ALTER TABLE ${s}.kafka_outbox ADD COLUMN job_ids uuid[], ADD COLUMN ordering_keys text[];
        UPDATE ${s}.kafka_outbox SET job_ids = ARRAY[job_id], ordering_keys = ARRAY[ordering_key];
        ALTER TABLE ${s}.kafka_outbox DROP COLUMN job_id, DROP COLUMN ordering_key,
          ALTER COLUMN job_ids SET NOT NULL, ALTER COLUMN ordering_keys SET NOT NULL;
      END IF;
    END $$;
    CREATE OR REPLACE FUNCTION ${s}.kafka_outbox_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (queue, job_ids, ordering_keys, created_at)
      SELECT queue, array_agg(id ORDER BY seq), array_agg(ordering_key ORDER BY seq), max(updated_at)
        FROM (SELECT queue, id, seq, ordering_key, updated_at, ${part('seq')} AS part FROM new_jobs WHERE status = 'pending') x
       GROUP BY queue, part ORDER BY queue, part;
      RETURN NULL;
    END $fn$;
    CREATE OR REPLACE FUNCTION ${s}.kafka_outbox_ready() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (queue, job_ids, ordering_keys, created_at) VALUES (NEW.queue, ARRAY[NEW.id], ARRAY[NEW.ordering_key], NEW.updated_at);
      PERFORM pg_notify('${channel}', NEW.queue);
      RETURN NULL;
    END $fn$;
    CREATE OR REPLACE FUNCTION ${s}.kafka_outbox_next_in_line() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (queue, job_ids, ordering_keys, created_at)
      SELECT h.queue, ARRAY[h.id], ARRAY[h.ordering_key], NEW.updated_at FROM ${HEAD_OF_LINE(s)}
       WHERE h.status = 'pending';
      IF FOUND THEN PERFORM pg_notify('${channel}', NEW.queue); END IF;
      RETURN NULL;
    END $fn$;
    CREATE OR REPLACE FUNCTION ${s}.kafka_outbox_resumed() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.kafka_outbox (queue, job_ids, ordering_keys, created_at)
      SELECT NEW.name, array_agg(id ORDER BY priority DESC, run_at, seq), array_agg(ordering_key ORDER BY priority DESC, run_at, seq), max(updated_at)
        FROM (SELECT id, priority, run_at, seq, ordering_key, updated_at, ${part('priority DESC, run_at, seq')} AS part
                FROM ${s}.jobs WHERE status = 'pending' AND queue = NEW.name) x
       GROUP BY part ORDER BY part;
      RETURN NULL;
    END $fn$;
  `;
}
