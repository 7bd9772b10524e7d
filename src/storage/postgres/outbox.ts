/**
 * Broker dispatch on Postgres (jobq/kafka): claims by id under the lease
 * fence, the transactional outbox (read, delete, turn on), promotion of due
 * scheduled jobs, and exactly-once topic ingest. The outbox rows themselves
 * are written by triggers (outbox-schema.ts). Postgres stays the source of
 * truth: a broker only ever carries job ids.
 */
import type pg from 'pg';
import type { IngestRecordsParams, IngestRecordsResult, OutboxEntry } from '../../contracts/store.js';
import { ifOrdered, plainClaimable } from './ordering.js';
import { OUTBOX_INSERT_TRIGGER, OUTBOX_TRIGGERS } from './outbox-schema.js';
import { LEASED_COLUMNS, unindexed } from './sql.js';

export function outboxStatements(s: string, schema: string) {
  return {
    // Params: ids, types (null: any), now, leaseToken, leaseExpiresAt, queue.
    // One UPDATE that finds each row by its id (jobs_pkey) and changes it in place. Status and
    // queue are tested as expressions (`|| ''`) so that no other index can serve them: given
    // `queue = $6` or `status = 'pending'`, the planner on stale statistics walked jobs_list or
    // jobs_claim and filtered by id, reading every pending row of the queue for each claim
    // (16,050 rows for 50 ids: 5.4 ms instead of 1 ms, measured before statistics caught up with
    // a backlog). Through the id index the rows come in id order, so two claims of overlapping ids
    // lock them in the same order (on a table small enough for a seq scan they can deadlock:
    // Postgres breaks it, and the store retries). A row that another transaction is changing is waited for, not
    // skipped, and its whole WHERE tested again once that commits: a change that leaves a job
    // pending would otherwise go unclaimed with no new record on its way. The queue's state
    // (paused, flow control, holds) is read once per statement. A queue that holds ordering keys
    // (queues.ordered) is claimed with the ordering check; the plain form skips such a queue and
    // has no check to plan (0.23 against 0.36 ms, EXPLAIN, 50 ids). This form replaced one that
    // looked each id up alone, then its row by seq, then updated by seq (three index probes per
    // job): a claim of 50 ids took 1.25-1.34 against 1.51-1.67 ms (300 alternated claims, 3 runs).
    claimByIds: claimByIds(s, false),
    claimByIdsOrdered: claimByIds(s, true),
    // Params: limit (jobs), seqs published. Deletes those rows, then whole rows, oldest first, until they
    // hold $1 jobs; at least one. The read sees the table as it was before the delete (one snapshot per
    // statement), hence the filter. One round trip per batch, not two: at a steady rate each job is its
    // own batch (bench:kafka, steady rows).
    read: `
      WITH gone AS (DELETE FROM ${s}.kafka_outbox WHERE seq = ANY($2::bigint[]))
      SELECT seq, job_ids::text[] AS job_ids, queue, ordering_keys FROM (
        SELECT seq, job_ids, queue, ordering_keys, sum(cardinality(job_ids)) OVER (ORDER BY seq) - cardinality(job_ids) AS before
          FROM ${s}.kafka_outbox WHERE seq <> ALL($2::bigint[]) ORDER BY seq LIMIT $1) x
       WHERE before < $1 ORDER BY seq`,
    // Params: seqs
    delete: `DELETE FROM ${s}.kafka_outbox WHERE seq = ANY($1::bigint[])`,
    // Params: trigger names. Those that exist, and whether each is disabled.
    triggers: `
      SELECT t.tgname AS name, t.tgenabled = 'D' AS disabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = '${schema}' AND t.tgname = ANY($1::text[])`,
    // Params: queues, now, limit. Through the trigger, each promoted job writes its outbox entry.
    promoteDue: `
      UPDATE ${s}.jobs SET status = 'pending', updated_at = $2
       WHERE id IN (SELECT id FROM ${s}.jobs WHERE status = 'scheduled' AND queue = ANY($1::text[]) AND run_at <= $2
                     ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED)`,
    // Params: queues. One index probe per queue (jobs_scheduled).
    nextDue: `
      SELECT min(x.run_at) AS next FROM unnest($1::text[]) AS q(name)
        CROSS JOIN LATERAL (SELECT run_at FROM ${s}.jobs WHERE status = 'scheduled' AND queue = q.name ORDER BY run_at LIMIT 1) x`,
    // Params: consumer, topic, partition
    ingestInit: `INSERT INTO ${s}.kafka_ingest_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`,
    ingestLock: `SELECT next_offset FROM ${s}.kafka_ingest_offsets WHERE consumer = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
    // Params: consumer, topic, partition, nextOffset
    ingestMove: `UPDATE ${s}.kafka_ingest_offsets SET next_offset = $4 WHERE consumer = $1 AND topic = $2 AND partition = $3`,
  };
}

function claimByIds(s: string, ordered: boolean): string {
  return `
      UPDATE ${s}.jobs j SET status = 'processing', attempts = j.attempts + 1, started_at = $3, updated_at = $3, lease_token = $4, lease_expires_at = $5
       WHERE j.id = ANY($1::uuid[]) AND ${unindexed('j.status')} = 'pending' AND ${unindexed('j.queue')} = $6
         AND ($2::text[] IS NULL OR j.type = ANY($2::text[]))${ifOrdered(ordered, s, 'j')}
         AND ${plainClaimable(s, '$6', '$3', ordered)}
      RETURNING ${LEASED_COLUMNS}`;
}

export type OutboxStatements = ReturnType<typeof outboxStatements>;

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

/** Entries in the order they were written, from whole rows only (a row's jobs are published and deleted together). */
export async function readOutbox(q: Query, sql: OutboxStatements, limit: number, published: readonly number[]): Promise<OutboxEntry[]> {
  const { rows } = await q<{ seq: number; job_ids: string[]; queue: string; ordering_keys: (string | null)[] }>(sql.read, [limit, published]);
  const entries: OutboxEntry[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.job_ids.length; i++) entries.push({ seq: r.seq, jobId: r.job_ids[i]!, queue: r.queue, orderingKey: r.ordering_keys[i] ?? null });
  }
  return entries;
}

/**
 * Turns the outbox triggers on: creates the insert trigger where it is
 * missing (see OUTBOX_INSERT_TRIGGER), enables those still off. DDL only for
 * what is missing or off: it takes a short table lock.
 */
export async function enableOutbox(q: Query, sql: OutboxStatements, s: string): Promise<void> {
  const { rows } = await q<{ name: string; disabled: boolean }>(sql.triggers, [OUTBOX_TRIGGERS.map((t) => t.name)]);
  if (!rows.some((r) => r.name === 'kafka_outbox_insert')) {
    try {
      await q(OUTBOX_INSERT_TRIGGER(s), []);
    } catch (err) {
      // Another node starting with broker dispatch created it first.
      if ((err as { code?: string }).code !== '42710') throw err;
    }
  }
  for (const row of rows.filter((r) => r.disabled)) {
    // Names from our own list, never from the row: identifiers cannot be bound parameters.
    const t = OUTBOX_TRIGGERS.find((x) => x.name === row.name)!;
    await q(`ALTER TABLE ${s}.${t.table} ENABLE TRIGGER ${t.name}`, []);
  }
}

/**
 * Inside the caller's transaction: skips records below the stored position
 * (ingested before a crash lost the broker-side commit), inserts the rest,
 * moves the position. The row lock serialises two readers of one partition
 * during a rebalance.
 */
export async function ingestRecords(
  c: pg.ClientBase,
  sql: OutboxStatements,
  insert: (c: pg.ClientBase, jobs: IngestRecordsParams['records'][number]['job'][]) => Promise<unknown>,
  p: IngestRecordsParams,
): Promise<IngestRecordsResult> {
  const key = [p.consumer, p.topic, p.partition];
  await c.query(sql.ingestInit, key);
  const stored = Number((await c.query<{ next_offset: number }>(sql.ingestLock, key)).rows[0]!.next_offset);
  const fresh = p.records.filter((r) => r.offset >= stored).sort((a, b) => a.offset - b.offset);
  if (fresh.length === 0) return { inserted: [], nextOffset: stored };
  const inserted = fresh.map((r) => r.job);
  await insert(c, inserted);
  const nextOffset = fresh.at(-1)!.offset + 1;
  await c.query(sql.ingestMove, [...key, nextOffset]);
  return { inserted, nextOffset };
}
