/**
 * FIFO per ordering key, as one SQL predicate every Postgres claim path adds
 * (SKIP LOCKED claims in sql.ts, claims by id for broker dispatch): a job
 * with an ordering key may start only while no other job of its key and
 * queue is processing and none created before it is still unfinished. The
 * "processing" half keeps one at a time even when an earlier job's insert
 * committed after a later one had started. Read through jobs_ordering.
 */
/** The statuses of a job still in line (SQL list). */
export const ACTIVE = `('waiting', 'scheduled', 'pending', 'processing')`;

/** `j` is the alias of the candidate row in the calling statement. */
export function headOfItsKey(s: string, j: string): string {
  return `(${j}.ordering_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM ${s}.jobs e
             WHERE e.queue = ${j}.queue AND e.ordering_key = ${j}.ordering_key AND e.status IN ${ACTIVE}
               AND (e.seq < ${j}.seq OR e.status = 'processing') AND e.seq <> ${j}.seq))`;
}

/** The ordering check as an extra condition, for the statements of a queue marked `ordered` (migration 7); nothing otherwise. */
export function ifOrdered(ordered: boolean, s: string, j: string): string {
  return ordered ? ` AND ${headOfItsKey(s, j)}` : '';
}

/**
 * Why a plain claim gave nothing, as two SQL booleans (`queue` and `now` as
 * in plainClaimable): `limited`, the queue has flow control or a hold (its
 * claims go through flow.ts); `ordered`, it holds ordering keys (its claims
 * need the ordering check).
 */
export function whyNotClaimable(s: string, queue: string, now: string): { limited: string; ordered: string } {
  return {
    limited: `(EXISTS (SELECT 1 FROM ${s}.queues WHERE name = ${queue} AND settings IS NOT NULL) OR EXISTS (SELECT 1 FROM ${s}.holds WHERE queue = ${queue} AND until > ${now}))`,
    ordered: `EXISTS (SELECT 1 FROM ${s}.queues WHERE name = ${queue} AND ordered)`,
  };
}

/**
 * What a claim outside flow.ts may take from (`queue` and `now` are the SQL of
 * the queue's name and the time): a queue not paused, without flow control,
 * not held by a throttled job, and, unless the claim has the ordering check,
 * holding no ordering keys.
 */
export function plainClaimable(s: string, queue: string, now: string, ordered: boolean): string {
  const skip = ordered ? 'q.paused OR q.settings IS NOT NULL' : 'q.paused OR q.settings IS NOT NULL OR q.ordered';
  return `NOT EXISTS (SELECT 1 FROM ${s}.queues q WHERE q.name = ${queue} AND (${skip}))
           AND NOT EXISTS (SELECT 1 FROM ${s}.holds h WHERE h.queue = ${queue} AND h.until > ${now})`;
}

export const ORDERING_INDEX = (s: string) =>
  `CREATE INDEX jobs_ordering ON ${s}.jobs (queue, ordering_key, seq) WHERE ordering_key IS NOT NULL AND status IN ${ACTIVE}`;
