/**
 * SQL for the Postgres backend, one statement per entry, parameters always
 * bound ($n). Batches travel as arrays and are expanded with unnest(), so a
 * batch of any size is one statement and one round trip.
 */
export function statements(s: string, channel: string) {
  return {
    // Params: ids, queues, types, payloads, statuses, priorities, maxAttempts, timeouts, runAts, createdAt.
    // One NOTIFY per committed batch, never one per job: NOTIFY takes a database-wide lock at commit.
    insert: `
      WITH ins AS (
        INSERT INTO ${s}.jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at)
        SELECT v.id, v.queue, v.type, v.payload::json, v.status, v.priority, v.max_attempts, v.timeout_ms, v.run_at, $10, $10
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::bigint[])
               AS v(id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at)
        RETURNING queue)
      SELECT pg_notify('${channel}', string_agg(DISTINCT queue, ',')) FROM ins`,

    // Params: now. Moves every due scheduled job to pending (run by the rescuer, so
    // statuses stay truthful); claims do not wait for it (see claim).
    promote: `
      UPDATE ${s}.jobs SET status = 'pending', updated_at = $1
       WHERE seq IN (SELECT seq FROM ${s}.jobs
                      WHERE status = 'scheduled' AND run_at <= $1
                      FOR UPDATE SKIP LOCKED)`,

    // Params: queue, limit, now, leaseToken, leaseExpiresAt
    // One round trip: ready jobs and due scheduled jobs are each read from their own
    // partial index, locked with SKIP LOCKED (claimers on many nodes take disjoint rows
    // without waiting), merged in claim order, and the first $2 are leased.
    claim: `
      WITH ready AS (
        SELECT seq, priority, run_at FROM ${s}.jobs
         WHERE status = 'pending' AND queue = $1
         ORDER BY priority DESC, run_at, seq
         LIMIT $2
         FOR UPDATE SKIP LOCKED),
      due AS (
        SELECT seq, priority, run_at FROM ${s}.jobs
         WHERE status = 'scheduled' AND queue = $1 AND run_at <= $3
         ORDER BY run_at, seq
         LIMIT $2
         FOR UPDATE SKIP LOCKED),
      next AS (
        SELECT seq FROM (SELECT * FROM ready UNION ALL SELECT * FROM due) c
         WHERE NOT EXISTS (SELECT 1 FROM ${s}.queues q WHERE q.name = $1 AND q.paused)
         ORDER BY priority DESC, run_at, seq
         LIMIT $2)
      UPDATE ${s}.jobs j
         SET status = 'processing', attempts = j.attempts + 1, started_at = $3, updated_at = $3,
             lease_token = $4, lease_expires_at = $5
        FROM next WHERE j.seq = next.seq
      RETURNING j.*`,

    // Params: ids, tokens, leaseExpiresAt, now
    extend: `
      UPDATE ${s}.jobs j SET lease_expires_at = $3, updated_at = $4
        FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
       WHERE j.id = v.id AND j.status = 'processing' AND j.lease_token = v.token
      RETURNING j.id`,

    // Params: ids, tokens, statuses, results, runAts, errors (JSON text or null), now
    finish: `
      UPDATE ${s}.jobs j
         SET status = v.status,
             result = CASE WHEN v.status = 'completed' THEN v.result::json ELSE j.result END,
             run_at = COALESCE(v.run_at, j.run_at),
             errors = CASE WHEN v.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(v.error::jsonb) END,
             finished_at = CASE WHEN v.status IN ('completed', 'failed') THEN $7 ELSE j.finished_at END,
             updated_at = $7, lease_token = NULL, lease_expires_at = NULL
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS v(id, token, status, result, run_at, error)
       WHERE j.id = v.id AND j.status = 'processing' AND j.lease_token = v.token
      RETURNING j.id`,

    // Params: ids, tokens, now. Gives the attempt back: the job did not fail.
    release: `
      UPDATE ${s}.jobs j SET status = 'pending', attempts = j.attempts - 1, run_at = $3, updated_at = $3,
                             lease_token = NULL, lease_expires_at = NULL
        FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
       WHERE j.id = v.id AND j.status = 'processing' AND j.lease_token = v.token
      RETURNING j.id`,

    // Params: id, token, progress, now
    progress: `UPDATE ${s}.jobs SET progress = $3, updated_at = $4 WHERE id = $1 AND status = 'processing' AND lease_token = $2`,

    // Params: now, limit. Locked so two rescuers never take the same row.
    expired: `
      SELECT id, lease_token, attempts, max_attempts FROM ${s}.jobs
       WHERE status = 'processing' AND lease_expires_at <= $1
       ORDER BY lease_expires_at
       LIMIT $2
       FOR UPDATE SKIP LOCKED`,

    get: `SELECT * FROM ${s}.jobs WHERE id = $1`,

    // Params: id, now
    cancel: `
      UPDATE ${s}.jobs SET status = 'cancelled', finished_at = $2, updated_at = $2, lease_token = NULL, lease_expires_at = NULL
       WHERE id = $1 AND status IN ('scheduled', 'pending', 'processing')
      RETURNING *`,

    // Params: id, now
    retry: `
      WITH r AS (
        UPDATE ${s}.jobs SET status = 'pending', attempts = 0, run_at = $2, finished_at = NULL, result = NULL, progress = NULL, updated_at = $2
         WHERE id = $1 AND status IN ('failed', 'cancelled')
        RETURNING *)
      SELECT r.*, pg_notify('${channel}', r.queue) FROM r`,

    // Params: finishedBefore, limit
    prune: `
      DELETE FROM ${s}.jobs WHERE seq IN (
        SELECT seq FROM ${s}.jobs
         WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < $1
         LIMIT $2)`,

    nextRunAt: `SELECT MIN(run_at) AS next FROM ${s}.jobs WHERE status = 'scheduled' AND queue = $1`,
    pause: `INSERT INTO ${s}.queues (name, paused) VALUES ($1, true) ON CONFLICT (name) DO UPDATE SET paused = true`,
    resume: `
      WITH q AS (INSERT INTO ${s}.queues (name, paused) VALUES ($1, false) ON CONFLICT (name) DO UPDATE SET paused = false RETURNING name)
      SELECT pg_notify('${channel}', name) FROM q`,
    counts: `
      SELECT queue, 'pending' AS status, COUNT(*)::int AS n FROM ${s}.jobs WHERE status = 'pending' GROUP BY queue
      UNION ALL
      SELECT queue, 'scheduled', COUNT(*)::int FROM ${s}.jobs WHERE status = 'scheduled' GROUP BY queue
      UNION ALL
      SELECT queue, 'processing', COUNT(*)::int FROM ${s}.jobs WHERE status = 'processing' GROUP BY queue
      UNION ALL
      SELECT queue, status, COUNT(*)::int FROM ${s}.jobs WHERE status IN ('completed', 'failed', 'cancelled') GROUP BY queue, status`,
    queues: `SELECT name, paused FROM ${s}.queues`,
    list: {
      all: `SELECT * FROM ${s}.jobs WHERE seq > $1 ORDER BY seq LIMIT $2`,
      queue: `SELECT * FROM ${s}.jobs WHERE queue = $3 AND seq > $1 ORDER BY seq LIMIT $2`,
      status: `SELECT * FROM ${s}.jobs WHERE status = $3 AND seq > $1 ORDER BY seq LIMIT $2`,
      queueStatus: `SELECT * FROM ${s}.jobs WHERE queue = $3 AND status = $4 AND seq > $1 ORDER BY seq LIMIT $2`,
    },
  };
}

export type Statements = ReturnType<typeof statements>;
