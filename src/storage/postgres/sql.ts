/**
 * SQL for the Postgres backend's jobs, one statement per entry, parameters
 * always bound ($n). Batches travel as arrays and are expanded with
 * unnest(), so a batch of any size is one statement and one round trip.
 * Status lists chosen by the core arrive as text[] parameters.
 */
import { FINISHED_STATUSES, MAX_ERRORS_KEPT, type FinishedStatus } from '../../contracts/job.js';
import { JOB_COLUMNS } from '../job-row.js';
import { ifOrdered, plainClaimable, whyNotClaimable } from './ordering.js';
import { pendingTypesSql } from './pending-types.js';

/**
 * A column tested as an expression (`column || ''`): no index, partial or not, can serve the
 * test, so a statement that finds its rows by id keeps to the id index whatever the planner's
 * statistics say (claims by id, outbox.ts; leased jobs, below).
 */
export const unindexed = (column: string) => `${column} || ''`;

/**
 * A leased job looked up by id. The worker pool keeps generic plans (postgres-store.ts), and with
 * statistics taken while nothing was processing a generic finish walked jobs_leases (every
 * processing row, and the dead ones of a busy drain) instead of looking each id up: a
 * concurrency-50 drain fell from about 23,000 to 17,300-18,100 jobs/s (measured).
 */
const BY_ID_PROCESSING = (j: string) => `${unindexed(`${j}status`)} = 'processing'`;

const LEASE = (j: string) => `status = 'processing', attempts = ${j}attempts + 1, started_at = $3, updated_at = $3, lease_token = $4, lease_expires_at = $5`;

/**
 * Claims: ready jobs of each wanted type and due scheduled ones, locked with
 * SKIP LOCKED, merged in claim order. The ordering check doubles the time
 * Postgres takes to plan the statement (0.23 → 0.44 ms measured, more than
 * it takes to run), so only queues marked `ordered` (migration 7) get it;
 * the plain statement gives nothing from such a queue, and the store, told
 * why, switches that queue to the ordered one.
 */
/**
 * `types`: the SQL of the wanted types, or ONE_TYPE for a claim of a single
 * type ($6 a text): one range without the lateral join, which Postgres plans
 * in 0.22 instead of 0.27 ms (measured with EXPLAIN ANALYZE, when every claim
 * was planned).
 */
function claim(s: string, types: string, ordered: boolean, size: number | null, followUp: boolean): string {
  const head = ifOrdered(ordered, s, 'x');
  const one = types === ONE_TYPE;
  // Each range is read and locked up to `size` rows (a literal, see CLAIM_SIZES), or $2 rows.
  const take = size === null ? '$2' : String(size);
  return `
      WITH ${one ? '' : `types AS (${types}),`}
      ready AS (
        ${one ? '' : 'SELECT c.id, c.seq, c.priority, c.run_at FROM types t CROSS JOIN LATERAL ('}
          SELECT id, seq, priority, run_at FROM ${s}.jobs x
           WHERE status = 'pending' AND queue = $1 AND type = ${one ? '$6' : 't.type'}${head}
           ORDER BY priority DESC, run_at, seq
           LIMIT ${take}
           FOR UPDATE SKIP LOCKED${one ? '' : ') c'}),
      due AS (
        SELECT id, seq, priority, run_at FROM ${s}.jobs x
         WHERE status = 'scheduled' AND queue = $1 AND run_at <= $3 AND ${one ? 'type = $6' : 'type IN (SELECT type FROM types)'}${head}
         ORDER BY run_at, seq
         LIMIT ${take}
         FOR UPDATE SKIP LOCKED),
      next AS (
        SELECT id${size === null ? '' : ', row_number() OVER (ORDER BY priority DESC, run_at, seq) AS n'}
          FROM (SELECT * FROM ready UNION ALL SELECT * FROM due) c
         -- A paused queue gives nothing; so does one with flow control or held by a throttled job (its claims go
         -- through flow.ts), and, to the plain statement, one holding ordering keys.
         WHERE ${plainClaimable(s, '$1', '$3', ordered)}
         ORDER BY priority DESC, run_at, seq
         LIMIT ${take})${followUp ? ',\n      claimed AS (' : ''}
      UPDATE ${s}.jobs j SET ${LEASE('j.')}
        -- Sized: the first $2 by number, so that the planner counts on at most \`size\` rows here
        -- (a LIMIT $2 it would guess at a tenth of what comes in: many rows from many types).
        FROM next WHERE j.id = next.id${size === null ? '' : ' AND next.n <= $2'}
      RETURNING ${LEASED_COLUMNS}${followUp ? `)\n      ${AFTER_CLAIM(s)}` : ''}`;
}

/**
 * A claim with its follow-up: the claimed rows, each with what the worker's
 * loop asks once a claim came back short, read in the claim's own round trip
 * (one row of NULLs when nothing was claimed). Postgres evaluates each
 * subquery only where a CASE takes its branch:
 * - \`next_run_at\`, when fewer than $2 came back: the earliest run time
 *   after now ($3) of a scheduled job of the queue, any type. The due ones
 *   are left out: this claim took those of its types, another claim holds
 *   the ones it skipped, and the rest are other nodes' types. Read apart
 *   after the claim, the due job of a type this node has no handler for
 *   armed a timer for the past, which claimed again at once, until the
 *   rescuer promoted the job (every 5 s by default): about 200 claims and
 *   as many look-ups a second (measured).
 * - \`why_limited\` and \`why_ordered\`, when nothing came back: why a plain
 *   claim gives nothing (whyNotClaimable).
 * At a steady rate each node used to send the claim, then the look-up, and
 * on an empty claim the why too: three statements where one does. It costs
 * a full claim about 2-3 µs more of the server's CPU per job (the claimed
 * rows go through a CTE and a join: 1,267 against 1,433 µs for a claim of
 * 50, measured), so the store sends the plain form where the queue's last
 * claim came back full (claims.ts).
 */
const AFTER_CLAIM = (s: string) => {
  const why = whyNotClaimable(s, '$1', '$3');
  return `SELECT c.*, w.* FROM (SELECT
          CASE WHEN (SELECT count(*) FROM claimed) < $2
               THEN (SELECT MIN(run_at) FROM ${s}.jobs WHERE status = 'scheduled' AND queue = $1 AND run_at > $3) END AS next_run_at,
          CASE WHEN NOT EXISTS (SELECT 1 FROM claimed) THEN ${why.limited} END AS why_limited,
          CASE WHEN NOT EXISTS (SELECT 1 FROM claimed) THEN ${why.ordered} END AS why_ordered) w
        LEFT JOIN claimed c ON true`;
};

/**
 * What a claim returns: the columns a leased job is built from (JobRow), not `j.*`, whose other
 * eight (keys, dependency bookkeeping, the ordering key) every claimed row sent and the driver parsed.
 */
export const LEASED_COLUMNS = JOB_COLUMNS.split(', ').map((c) => `j.${c}`).join(', ');

/**
 * The claim statements come in these sizes: each reads and locks at most its size of rows per
 * range, written as a literal, and leases the first $2 of them. With the size in the text, a
 * plan cached for the statement (plan_cache_mode=auto on the worker pool, postgres-store.ts)
 * knows how few rows come back and joins them to the table by id; with LIMIT $2 the planner
 * guessed a tenth of the table and, once ANALYZE had run, hash-joined a full scan of it (a
 * concurrency-50 drain fell from 21,674 to 18,473 jobs/s, measured). A claim of more than the
 * largest size takes the $2 form.
 */
export const CLAIM_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

/**
 * Which types a claim wants ('any': the queue's pending types, found by skipping through
 * jobs_claim, one index probe per type), and whether its queue holds ordering keys.
 */
export type ClaimKind = 'types' | 'typesOrdered' | 'oneType' | 'oneTypeOrdered' | 'any' | 'anyOrdered';

/**
 * Params: queue, limit, now, leaseToken, leaseExpiresAt, then the types ($6) unless 'any'.
 * One round trip: each wanted type's ready jobs are one range of jobs_claim and due scheduled
 * jobs one of jobs_scheduled, all locked with SKIP LOCKED (claimers on many nodes take disjoint
 * rows without waiting), merged in claim order, first $2 leased. Each kind in every size of
 * CLAIM_SIZES, in order, then in the $2 form (see claimFor); `followUp`: with AFTER_CLAIM.
 */
export function claimStatements(s: string, followUp = false): Record<ClaimKind, string[]> {
  const all = (types: string, ordered: boolean) => [...CLAIM_SIZES.map((size) => claim(s, types, ordered, size, followUp)), claim(s, types, ordered, null, followUp)];
  return {
    types: all(TYPES, false),
    typesOrdered: all(TYPES, true),
    oneType: all(ONE_TYPE, false),
    oneTypeOrdered: all(ONE_TYPE, true),
    any: all(anyType(s), false),
    anyOrdered: all(anyType(s), true),
  };
}

/** The statement of claimStatements' list for a claim of `limit` jobs: the smallest size that holds them. */
export function claimFor(statements: readonly string[], limit: number): string {
  const i = CLAIM_SIZES.findIndex((size) => size >= limit);
  return statements[i < 0 ? CLAIM_SIZES.length : i]!;
}

const TYPES = `SELECT unnest($6::text[]) AS type`;
const ONE_TYPE = '$6::text';

const anyType = (s: string) => `${pendingTypesSql(s)}
       UNION SELECT type FROM ${s}.jobs WHERE status = 'scheduled' AND queue = $1 AND run_at <= $3`;

const PUSH_ERROR = (j: string, e: string) =>
  `CASE WHEN ${e} IS NULL THEN ${j}errors WHEN jsonb_array_length(${j}errors) >= ${MAX_ERRORS_KEPT} THEN (${j}errors - 1) || jsonb_build_array(${e}::jsonb) ELSE ${j}errors || jsonb_build_array(${e}::jsonb) END`;

/** A finish's parameters as rows `v` (ids, tokens, statuses, results, runAts, errors; $8 refunds). */
const FINISH_VALUES = `unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $8::int[]) AS v(id, token, status, result, run_at, error, refund)`;

/**
 * The same for one finish, its parameters scalars: a job finished alone (a steady trickle, a
 * worker at concurrency 1). Postgres's CPU per finish 380-430 -> 165-170 us, the round trip
 * 588-696 -> 319-373 us (2,000 finishes each, alternated in chunks of 100, generic plans).
 */
const FINISH_ONE = `(SELECT $1::uuid AS id, $2::text AS token, $3::text AS status, $4::text AS result, $5::bigint AS run_at, $6::text AS error, $8::int AS refund) AS v`;

/** What a finish writes; `v` is the row of its unnest()ed parameters ($7 is now). */
const FINISH_SET = `status = v.status,
               attempts = j.attempts - v.refund,
               result = CASE WHEN v.status = 'completed' THEN v.result::json ELSE j.result END,
               run_at = COALESCE(v.run_at, j.run_at),
               errors = ${PUSH_ERROR('j.', 'v.error')},
               finished_at = CASE WHEN v.status IN ('completed', 'failed') THEN $7 ELSE j.finished_at END,
               updated_at = $7, lease_token = NULL, lease_expires_at = NULL`;

/** What finishPlain returns: a finish statement's row (kind 'f'), or the id alone. */
const PLAIN_ROW = `'f' AS kind, j.id, j.queue, j.type, j.attempts, j.status, false AS has_dependents, NULL AS dep`;
const PLAIN_ID = 'j.id';

/** Finishes of jobs nothing depends on (params as `finish`; `values`: FINISH_VALUES or FINISH_ONE). */
function finishPlain(s: string, values: string, returning: string): string {
  return `
      UPDATE ${s}.jobs j
         SET ${FINISH_SET}
        FROM ${values}
       WHERE j.id = v.id AND ${BY_ID_PROCESSING('j.')} AND j.lease_token = v.token AND NOT j.has_dependents
      RETURNING ${returning}`;
}

/** Finishes that count off their waiting dependents in the same statement (see `finish`). */
function finishWithDependents(s: string, values: string): string {
  return `
      WITH fin AS (
        UPDATE ${s}.jobs j
           SET ${FINISH_SET}
          FROM ${values}
         WHERE j.id = v.id AND ${BY_ID_PROCESSING('j.')} AND j.lease_token = v.token
        RETURNING j.id, j.queue, j.type, j.attempts, j.status, j.has_dependents),
      done AS (
        SELECT d.job_id, count(*)::int AS n, min(d.depends_on::text) AS dep
          FROM fin JOIN ${s}.job_deps d ON d.depends_on = fin.id
         WHERE fin.has_dependents AND fin.status = 'completed'
         GROUP BY d.job_id),
      ready AS (
        UPDATE ${s}.jobs w
           SET pending_deps = w.pending_deps - done.n, updated_at = $7,
               status = CASE WHEN w.pending_deps - done.n > 0 THEN 'waiting' WHEN w.run_at <= $7 THEN 'pending' ELSE 'scheduled' END
          FROM done WHERE w.id = done.job_id AND w.status = 'waiting'
        RETURNING w.id, w.queue, w.type, w.attempts, w.status, done.dep)
      SELECT 'f' AS kind, id, queue, type, attempts, status, has_dependents, NULL AS dep FROM fin
      UNION ALL
      SELECT 'd', id, queue, type, attempts, status, false, dep FROM ready WHERE status <> 'waiting'`;
}

export function jobStatements(s: string, channel: string) {
  return {
    // Params: ids, queues, types, payloads, statuses, priorities, maxAttempts, timeouts, runAts, createdAt, concurrencyKeys, rateKeys, orderingKeys, traceContexts (JSON text or null).
    // One NOTIFY per committed batch, never one per job: NOTIFY takes a database-wide lock at commit.
    // A keyless job of a flow-controlled queue joins its keyless group '' (storage/flow-plan.ts).
    insert: `
      WITH ins AS (
        INSERT INTO ${s}.jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at, concurrency_key, rate_key, ordering_key, trace_context)
        SELECT v.id, v.queue, v.type, v.payload::json, v.status, v.priority, v.max_attempts, v.timeout_ms, v.run_at, $10, $10,
               COALESCE(v.concurrency_key, CASE WHEN v.queue = ANY(lim.names) THEN '' END), v.rate_key, v.ordering_key, v.trace_context::jsonb
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::bigint[], $9::bigint[], $11::text[], $12::text[], $13::text[], $14::text[])
               AS v(id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, concurrency_key, rate_key, ordering_key, trace_context)
               -- The flow-controlled queues, read once per statement rather than once per row.
               CROSS JOIN (SELECT array_agg(name) AS names FROM ${s}.queues WHERE settings IS NOT NULL) lim
        RETURNING queue)
      SELECT pg_notify('${channel}', string_agg(DISTINCT queue, ',')) FROM ins`,

    // Params: id, queue, type, payload, status, priority, maxAttempts, timeout, runAt, createdAt, concurrencyKey, rateKey,
    // orderingKey, traceContext (JSON text or null). One job, as `insert` does it for many: a job enqueued alone
    // (a sequential caller, a steady trickle) skips unnest() of fourteen one-element arrays. Postgres's CPU per
    // single insert 344 -> 300-306 us, 746-810 -> 714-718 us a round trip (1,600 inserts each, alternated).
    insertOne: `
      WITH ins AS (
        INSERT INTO ${s}.jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at, concurrency_key, rate_key, ordering_key, trace_context)
        VALUES ($1::uuid, $2::text, $3::text, $4::json, $5::text, $6::int, $7::int, $8::int, $9::bigint, $10::bigint, $10::bigint,
                COALESCE($11::text, (SELECT '' FROM ${s}.queues WHERE name = $2::text AND settings IS NOT NULL)), $12::text, $13::text, $14::jsonb)
        RETURNING queue)
      SELECT pg_notify('${channel}', queue) FROM ins`,

    // Params: now. Moves every due scheduled job to pending (run by the rescuer, so
    // statuses stay truthful); claims do not wait for it.
    promote: `
      UPDATE ${s}.jobs SET status = 'pending', updated_at = $1
       WHERE id IN (SELECT id FROM ${s}.jobs
                     WHERE status = 'scheduled' AND run_at <= $1
                     FOR UPDATE SKIP LOCKED)`,

    // Params: leaseToken. What a claim under this token took (its reply may have been lost).
    claimedBy: `SELECT * FROM ${s}.jobs WHERE status = 'processing' AND lease_token = $1`,

    // Params: ids, tokens, leaseExpiresAt, now
    extend: `
      UPDATE ${s}.jobs j SET lease_expires_at = $3, updated_at = $4
        FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
       WHERE j.id = v.id AND ${BY_ID_PROCESSING('j.')} AND j.lease_token = v.token
      RETURNING j.id`,

    // Params: as finish. Jobs nothing depends on (nearly all): the statement without the dependents'
    // part, which costs Postgres 2.5 times as long to plan (0.23 against 0.09 ms measured, more than
    // it takes to run). A job left out here (a dependent, or a lost lease) goes through finish.
    finishPlain: finishPlain(s, FINISH_VALUES, PLAIN_ROW),
    finishPlainOne: finishPlain(s, FINISH_ONE, PLAIN_ROW),

    // Params: as finish. finishPlain for finishes whose workers know their jobs (JobFinish.leased): only the ids come back.
    finishPlainIds: finishPlain(s, FINISH_VALUES, PLAIN_ID),
    finishPlainIdsOne: finishPlain(s, FINISH_ONE, PLAIN_ID),

    // Params: ids, tokens, statuses (decided by the core), results, runAts, errors (JSON text or null), now, refunds
    // A completed job's waiting dependents count it off in the same statement, and the last one makes a
    // dependent ready: same transaction, no extra round trip (the join reads nothing for jobs without
    // dependents). Rows of kind 'f' are the finished jobs; kind 'd' the dependents made ready.
    finish: finishWithDependents(s, FINISH_VALUES),
    finishOne: finishWithDependents(s, FINISH_ONE),

    // Params: ids, now, statuses. After a retried finish: which of these did the lost attempt write?
    finishedAt: `
      SELECT id, queue, type, attempts FROM ${s}.jobs
       WHERE id = ANY($1::uuid[]) AND updated_at = $2 AND lease_token IS NULL AND status = ANY($3::text[])`,

    // Params: ids, tokens, now. Gives the attempt back: the job did not fail.
    // Wakes the other nodes, once per batch: jobs given back unstarted (on stop, or held ahead too long) are for them now.
    release: `
      WITH r AS (
        UPDATE ${s}.jobs j SET status = 'pending', attempts = j.attempts - 1, run_at = $3, updated_at = $3,
                               lease_token = NULL, lease_expires_at = NULL
          FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
         WHERE j.id = v.id AND ${BY_ID_PROCESSING('j.')} AND j.lease_token = v.token
        RETURNING j.id, j.queue, j.type, j.attempts),
      woken AS (SELECT pg_notify('${channel}', string_agg(DISTINCT queue, ',')) FROM r HAVING count(*) > 0)
      SELECT r.* FROM r LEFT JOIN woken ON true`,

    // Params: token, now. Everything a lost claim took, back unspent.
    releaseClaim: `
      UPDATE ${s}.jobs SET status = 'pending', attempts = attempts - 1, run_at = $2, updated_at = $2,
                           lease_token = NULL, lease_expires_at = NULL
       WHERE status = 'processing' AND lease_token = $1
      RETURNING id, queue, type, attempts`,

    // Params: id, token, progress, now
    progress: `
      UPDATE ${s}.jobs SET progress = $3, updated_at = $4 WHERE id = $1 AND ${BY_ID_PROCESSING('')} AND lease_token = $2
      RETURNING id, queue, type, attempts`,

    // Params: now, limit
    expired: `
      SELECT id, lease_token, queue, type, attempts, max_attempts FROM ${s}.jobs
       WHERE status = 'processing' AND lease_expires_at <= $1
       ORDER BY lease_expires_at
       LIMIT $2`,

    get: `SELECT * FROM ${s}.jobs WHERE id = $1`,
    statusOf: `SELECT status FROM ${s}.jobs WHERE id = $1`,

    // Params: id, now, from
    cancel: `
      UPDATE ${s}.jobs SET status = 'cancelled', finished_at = $2, updated_at = $2, lease_token = NULL, lease_expires_at = NULL
       WHERE id = $1 AND status = ANY($3::text[])
      RETURNING *`,

    // Params: id. The jobs a job depends on, in the order it named them.
    dependencies: `
      SELECT j.* FROM jsonb_array_elements_text((SELECT depends_on FROM ${s}.jobs WHERE id = $1)) WITH ORDINALITY AS d(id, n)
        JOIN ${s}.jobs j ON j.id = d.id::uuid ORDER BY d.n`,

    // Params: id, now, from. A keyless job back in a queue now under flow control joins its keyless
    // group '' (storage/flow-plan.ts); a dependency back in line is unfinished again, so its waiting
    // dependents (policy 'ignore' kept them waiting when it ended) wait for it once more.
    retry: `
      WITH r AS (
        UPDATE ${s}.jobs SET status = 'pending', attempts = 0, run_at = $2, finished_at = NULL, result = NULL, progress = NULL, updated_at = $2,
               concurrency_key = COALESCE(concurrency_key, (SELECT '' FROM ${s}.queues q WHERE q.name = jobs.queue AND q.settings IS NOT NULL))
         WHERE id = $1 AND status = ANY($3::text[])
        RETURNING *),
      reopen AS (
        UPDATE ${s}.jobs w SET pending_deps = w.pending_deps + 1
          FROM r WHERE r.has_dependents AND w.status = 'waiting' AND w.id IN (SELECT d.job_id FROM ${s}.job_deps d WHERE d.depends_on = r.id))
      SELECT r.*, pg_notify('${channel}', r.queue) FROM r`,

    // Params: queue, finishedBefore, limit. One statement per finished status, each on its own partial index.
    prune: Object.fromEntries(
      FINISHED_STATUSES.map((status) => [
        status,
        `DELETE FROM ${s}.jobs WHERE id IN (
           SELECT id FROM ${s}.jobs WHERE status = '${status}' AND queue = $1 AND finished_at < $2 LIMIT $3)`,
      ]),
    ) as Record<FinishedStatus, string>,

    nextRunAt: `SELECT MIN(run_at) AS next FROM ${s}.jobs WHERE status = 'scheduled' AND queue = $1`,
  };
}

export type JobStatements = ReturnType<typeof jobStatements>;
