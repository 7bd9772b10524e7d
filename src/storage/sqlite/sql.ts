/**
 * SQL for the SQLite backend, one statement per constant. Parameters are
 * always bound (named, `@name`). Times are epoch ms integers.
 */

// Params: id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at
export const INSERT_JOB = `
  INSERT INTO jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at)
  VALUES (@id, @queue, @type, @payload, @status, @priority, @maxAttempts, @timeoutMs, @runAt, @createdAt, @createdAt)`;

// Params: queue, now
export const PROMOTE_DUE = `
  UPDATE jobs SET status = 'pending', updated_at = @now
  WHERE status = 'scheduled' AND queue = @queue AND run_at <= @now`;

// Params: queue
export const QUEUE_PAUSED = `SELECT paused FROM queues WHERE name = @queue`;

// Params: queue, limit, now, leaseExpiresAt, leaseToken
// The subquery walks the jobs_claim partial index in claim order.
export const CLAIM = `
  UPDATE jobs
     SET status = 'processing', attempts = attempts + 1, started_at = @now, updated_at = @now,
         lease_token = @leaseToken, lease_expires_at = @leaseExpiresAt
   WHERE seq IN (SELECT seq FROM jobs
                  WHERE status = 'pending' AND queue = @queue
                  ORDER BY priority DESC, run_at, seq
                  LIMIT @limit)
  RETURNING *`;

// Params: id, leaseToken, leaseExpiresAt, now
export const EXTEND_LEASE = `
  UPDATE jobs SET lease_expires_at = @leaseExpiresAt, updated_at = @now
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: id, leaseToken, result, now
export const COMPLETE = `
  UPDATE jobs SET status = 'completed', result = @result, finished_at = @now, updated_at = @now,
                  lease_token = NULL, lease_expires_at = NULL
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: id, leaseToken, status ('scheduled' | 'pending'), runAt, error (JSON), now
export const RETRY = `
  UPDATE jobs SET status = @status, run_at = @runAt, updated_at = @now,
                  errors = json_insert(errors, '$[#]', json(@error)),
                  lease_token = NULL, lease_expires_at = NULL
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: id, leaseToken, error (JSON), now
export const FAIL = `
  UPDATE jobs SET status = 'failed', finished_at = @now, updated_at = @now,
                  errors = json_insert(errors, '$[#]', json(@error)),
                  lease_token = NULL, lease_expires_at = NULL
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: id, leaseToken, now. Gives the attempt back: the job did not fail.
export const RELEASE = `
  UPDATE jobs SET status = 'pending', attempts = attempts - 1, run_at = @now, updated_at = @now,
                  lease_token = NULL, lease_expires_at = NULL
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: id, leaseToken, progress, now
export const SET_PROGRESS = `
  UPDATE jobs SET progress = @progress, updated_at = @now
   WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`;

// Params: now, limit
export const EXPIRED_LEASES = `
  SELECT id, lease_token, attempts, max_attempts FROM jobs
   WHERE status = 'processing' AND lease_expires_at <= @now
   ORDER BY lease_expires_at
   LIMIT @limit`;

// Params: id
export const GET_BY_ID = `SELECT * FROM jobs WHERE id = @id`;

// Params: id, now
export const CANCEL = `
  UPDATE jobs SET status = 'cancelled', finished_at = @now, updated_at = @now,
                  lease_token = NULL, lease_expires_at = NULL
   WHERE id = @id AND status IN ('scheduled', 'pending', 'processing')
  RETURNING *`;

// Params: id, now
export const MANUAL_RETRY = `
  UPDATE jobs SET status = 'pending', attempts = 0, run_at = @now, finished_at = NULL, result = NULL,
                  progress = NULL, updated_at = @now
   WHERE id = @id AND status IN ('failed', 'cancelled')
  RETURNING *`;

// Params: finishedBefore, limit
export const PRUNE = `
  DELETE FROM jobs WHERE seq IN (
    SELECT seq FROM jobs
     WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < @finishedBefore
     LIMIT @limit)`;

// Params: queue
export const NEXT_RUN_AT = `SELECT MIN(run_at) AS next FROM jobs WHERE status = 'scheduled' AND queue = @queue`;

// Params: queue
export const PAUSE = `INSERT INTO queues (name, paused) VALUES (@queue, 1) ON CONFLICT (name) DO UPDATE SET paused = 1`;
export const RESUME = `INSERT INTO queues (name, paused) VALUES (@queue, 0) ON CONFLICT (name) DO UPDATE SET paused = 0`;

// Each branch is answered from a covering partial index; none reads the table.
export const COUNTS = `
  SELECT queue, 'pending' AS status, COUNT(*) AS n FROM jobs WHERE status = 'pending' GROUP BY queue
  UNION ALL
  SELECT queue, 'scheduled', COUNT(*) FROM jobs WHERE status = 'scheduled' GROUP BY queue
  UNION ALL
  SELECT queue, 'processing', COUNT(*) FROM jobs INDEXED BY jobs_leases WHERE status = 'processing' GROUP BY queue
  UNION ALL
  SELECT queue, status, COUNT(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') GROUP BY queue, status`;
export const QUEUES = `SELECT name, paused FROM queues`;

/** List statements, one per filter combination so each uses its index. Params: after, limit (+ queue, status). */
export const LIST = {
  all: `SELECT * FROM jobs WHERE seq > @after ORDER BY seq LIMIT @limit`,
  // No status in the list index (it would slow the hot path): these walk seq order and filter.
  queue: `SELECT * FROM jobs WHERE queue = @queue AND seq > @after ORDER BY seq LIMIT @limit`,
  status: `SELECT * FROM jobs WHERE status = @status AND seq > @after ORDER BY seq LIMIT @limit`,
  queueStatus: `SELECT * FROM jobs WHERE queue = @queue AND status = @status AND seq > @after ORDER BY seq LIMIT @limit`,
} as const;
