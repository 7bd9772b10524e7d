/**
 * SQL for the SQLite backend's job transitions, one statement per constant.
 * Parameters are always bound (named, `@name`); times are epoch ms integers;
 * status lists chosen by the core arrive as JSON arrays (`json_each`).
 */
import { MAX_ERRORS_KEPT } from '../../contracts/job.js';
import { JOB_COLUMNS } from '../job-row.js';
import { boundLimit } from './bound-limit.js';

// Positional: better-sqlite3 binds 14 positional values faster than an object of named ones (the
// plain insert is the bulk enqueue's hot loop). Params, in order: id, queue, type, payload, status,
// priority, maxAttempts, timeoutMs, runAt, createdAt (twice: created and updated), concurrencyKey,
// rateKey, traceContext (JSON or null).
export const INSERT_JOB = `
  INSERT INTO jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at, concurrency_key, rate_key, trace_context)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// Params: as INSERT_JOB, and key, keyUntil, dependsOn (JSON or null), onDepFailure, pendingDeps, finishedAt, errors.
// A held key makes it a no-op (changes 0): the caller then looks at the holder.
export const INSERT_LINKED_JOB = `
  INSERT INTO jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at,
                    key, unique_key, key_until, depends_on, on_dep_failure, pending_deps, finished_at, errors, concurrency_key, rate_key, trace_context)
  VALUES (@id, @queue, @type, @payload, @status, @priority, @maxAttempts, @timeoutMs, @runAt, @createdAt, @createdAt,
          @key, @key, @keyUntil, @dependsOn, @onDepFailure, @pendingDeps, @finishedAt, @errors, @concurrencyKey, @rateKey, @traceContext)
  ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING`;

// Params: key
export const KEY_HOLDER = `SELECT * FROM jobs WHERE unique_key = @key`;
// Params: seq
export const KEY_RELEASE = `UPDATE jobs SET unique_key = NULL WHERE seq = @seq`;
// Params: seq, key
export const KEY_RETAKE = `UPDATE jobs SET unique_key = @key WHERE seq = @seq`;
// Params: seq, payload, priority, runAt, status, now. onConflict 'replace' on a holder that has not started.
export const KEY_REPLACE = `
  UPDATE jobs SET payload = @payload, priority = @priority, run_at = @runAt, status = @status, updated_at = @now
   WHERE seq = @seq AND status IN ('pending', 'scheduled')
  RETURNING *`;

// Params: id
export const DEP_STATUS = `SELECT status FROM jobs WHERE id = @id`;
// Params: dependsOn, jobId
export const DEP_LINK = `INSERT OR IGNORE INTO job_deps (depends_on, job_id) VALUES (@dependsOn, @jobId)`;
// Params: id
export const DEP_MARK = `UPDATE jobs SET has_dependents = 1 WHERE id = @id AND has_dependents = 0`;
// Params: id. The waiting jobs that depend on a job.
export const DEP_WAITING = `
  SELECT j.seq, j.id, j.queue, j.type, j.attempts, j.on_dep_failure, j.pending_deps, j.run_at
    FROM job_deps d JOIN jobs j ON j.id = d.job_id
   WHERE d.depends_on = @id AND j.status = 'waiting'`;
// Params: seq, now. One dependency done; the last one makes the job ready.
export const DEP_DONE = `
  UPDATE jobs SET pending_deps = pending_deps - 1, updated_at = @now,
                  status = CASE WHEN pending_deps <= 1 THEN (CASE WHEN run_at <= @now THEN 'pending' ELSE 'scheduled' END) ELSE status END
   WHERE seq = @seq AND status = 'waiting'
  RETURNING status`;
// Params: id. The jobs a job depends on, in the order it named them.
export const DEPENDENCIES = `
  SELECT j.* FROM json_each((SELECT depends_on FROM jobs WHERE id = @id)) AS d JOIN jobs j ON j.id = d.value ORDER BY d.key`;

// Positional (bound per claim, faster than named): now, queue, now
export const PROMOTE_DUE = `
  UPDATE jobs SET status = 'pending', updated_at = ?
  WHERE status = 'scheduled' AND queue = ? AND run_at <= ?`;

/** Queues under flow control: a keyless job inserted there joins the keyless group '' (storage/flow-plan.ts). */
export const LIMITED_QUEUES = `SELECT name FROM queues WHERE settings IS NOT NULL`;

// Positional: queue, now, queue. A queue held by a throttled job takes the flow-controlled path too, limits or not.
export const QUEUE_STATE = `SELECT q.paused, q.settings, q.rr_cursor, EXISTS (SELECT 1 FROM holds WHERE queue = ? AND until > ?) AS held
  FROM (SELECT 1) LEFT JOIN queues q ON q.name = ?`;

const LEASE = `status = 'processing', attempts = attempts + 1, started_at = @now, updated_at = @now,
               lease_token = @leaseToken, lease_expires_at = @leaseExpiresAt`;

// Positional: queue, type, limit. One type's ready jobs in claim order (a walk of jobs_claim).
const typeRange = (columns: string) => `
  SELECT ${columns} FROM jobs
   WHERE status = 'pending' AND queue = ? AND type = ?
   ORDER BY priority DESC, run_at, seq
   LIMIT ${boundLimit('?')}`;
// What a claim of one type leases, by seq (leased-rows.ts).
export const CLAIM_HEAD = typeRange('seq');
// The head of one type's range, for merging several types in claim order.
export const CLAIM_CANDIDATES = typeRange('seq, priority, run_at');

// Positional: now, now, leaseToken, leaseExpiresAt, seq. One job of a claim's few.
export const LEASE_SEQ = `
  UPDATE jobs SET status = 'processing', attempts = attempts + 1, started_at = ?, updated_at = ?, lease_token = ?, lease_expires_at = ?
   WHERE seq = ? AND status = 'pending'`;

// Positional: seq. One leased job, as a claim hands it out.
export const JOB_BY_SEQ = `SELECT ${JOB_COLUMNS} FROM jobs WHERE seq = ?`;
// Positional: seqs (JSON array).
export const JOBS_BY_SEQS = `SELECT ${JOB_COLUMNS} FROM jobs WHERE seq IN (SELECT value FROM json_each(?))`;

// Params: queue, after. The next type with pending jobs (a skip scan of jobs_claim).
export const NEXT_PENDING_TYPE = `
  SELECT type FROM jobs WHERE status = 'pending' AND queue = @queue AND type > @after ORDER BY type LIMIT 1`;

// Params: seqs (JSON array), now, leaseExpiresAt, leaseToken. A claim's many jobs at once.
export const CLAIM_SEQS = `
  UPDATE jobs SET ${LEASE}
   WHERE seq IN (SELECT value FROM json_each(@seqs)) AND status = 'pending'`;

const FENCE = `id = @id AND status = 'processing' AND lease_token = @leaseToken`;
const CLEAR_LEASE = `lease_token = NULL, lease_expires_at = NULL`;
const REF = `RETURNING id, queue, type, attempts`;
// Finishes also say whether waiting jobs depend on the job (then they move, in the same transaction).
const REF_DEPS = `RETURNING id, queue, type, attempts, has_dependents`;
// The first error and the most recent ones: an entry beyond the limit drops the second-oldest.
const PUSH_ERROR = `errors = json_insert(CASE WHEN json_array_length(errors) >= ${MAX_ERRORS_KEPT} THEN json_remove(errors, '$[1]') ELSE errors END, '$[#]', json(@error))`;

// Params: id, leaseToken, leaseExpiresAt, now
export const EXTEND_LEASE = `UPDATE jobs SET lease_expires_at = @leaseExpiresAt, updated_at = @now WHERE ${FENCE}`;

// Positional (the finish of every job; named binding cost more, measured): result, now, now, id, leaseToken.
export const COMPLETE = `
  UPDATE jobs SET status = 'completed', result = ?, finished_at = ?, updated_at = ?, ${CLEAR_LEASE}
   WHERE id = ? AND status = 'processing' AND lease_token = ? ${REF_DEPS}`;

/**
 * The same, for a job nothing depends on whose worker knows it
 * (JobFinish.leased), so nothing is read back: SQLite's RETURNING cost more
 * than the update (12.6 against 6.7 µs per job, 200-job batches). Zero rows
 * changed: the lease was lost, or a dependent arrived; COMPLETE tells which.
 */
export const COMPLETE_PLAIN = `
  UPDATE jobs SET status = 'completed', result = ?, finished_at = ?, updated_at = ?, ${CLEAR_LEASE}
   WHERE id = ? AND status = 'processing' AND lease_token = ? AND has_dependents = 0`;

// Params: id, leaseToken, status ('scheduled' | 'pending', decided by the core), runAt, error (JSON), now
export const RETRY = `
  UPDATE jobs SET status = @status, run_at = @runAt, updated_at = @now, ${PUSH_ERROR}, ${CLEAR_LEASE}
   WHERE ${FENCE} ${REF}`;

// Params: id, leaseToken, error (JSON), now
export const FAIL = `
  UPDATE jobs SET status = 'failed', finished_at = @now, updated_at = @now, ${PUSH_ERROR}, ${CLEAR_LEASE}
   WHERE ${FENCE} ${REF_DEPS}`;

// Params: seq, error (JSON), now. A waiting job failed by its dependency's end (policy 'fail').
export const DEP_FAIL = `
  UPDATE jobs SET status = 'failed', finished_at = @now, updated_at = @now, ${PUSH_ERROR}
   WHERE seq = @seq AND status = 'waiting' RETURNING has_dependents`;
// Params: seq, now. A waiting job cancelled by its dependency's end (policy 'cancel').
export const DEP_CANCEL = `
  UPDATE jobs SET status = 'cancelled', finished_at = @now, updated_at = @now
   WHERE seq = @seq AND status = 'waiting' RETURNING has_dependents`;

// Params: id, leaseToken, status, runAt, now. Throttled by the remote side: back in line at runAt, attempt given back.
export const THROTTLE = `
  UPDATE jobs SET status = @status, attempts = attempts - 1, run_at = @runAt, updated_at = @now, ${CLEAR_LEASE}
   WHERE ${FENCE} ${REF}`;

// Params: id, leaseToken, now. Gives the attempt back: the job did not fail.
export const RELEASE = `
  UPDATE jobs SET status = 'pending', attempts = attempts - 1, run_at = @now, updated_at = @now, ${CLEAR_LEASE}
   WHERE ${FENCE} ${REF}`;

// Params: leaseToken, now. Everything a lost claim took, back unspent.
export const RELEASE_CLAIM = `
  UPDATE jobs INDEXED BY jobs_leases SET status = 'pending', attempts = attempts - 1, run_at = @now, updated_at = @now, ${CLEAR_LEASE}
   WHERE status = 'processing' AND lease_token = @leaseToken ${REF}`;

// Params: id, leaseToken, progress, now
export const SET_PROGRESS = `UPDATE jobs SET progress = @progress, updated_at = @now WHERE ${FENCE} ${REF}`;

// Params: now, limit
export const EXPIRED_LEASES = `
  SELECT id, lease_token, queue, type, attempts, max_attempts FROM jobs
   WHERE status = 'processing' AND lease_expires_at <= @now
   ORDER BY lease_expires_at
   LIMIT ${boundLimit('@limit')}`;

// Params: id
export const GET_BY_ID = `SELECT * FROM jobs WHERE id = @id`;
export const STATUS_BY_ID = `SELECT status FROM jobs WHERE id = @id`;

// Params: id, from (JSON array of statuses), now
export const CANCEL = `
  UPDATE jobs SET status = 'cancelled', finished_at = @now, updated_at = @now, ${CLEAR_LEASE}
   WHERE id = @id AND status IN (SELECT value FROM json_each(@from))
  RETURNING *`;

// Params: id, from (JSON array of statuses), now. A keyless job back in a queue now under flow
// control joins its keyless group '' (storage/flow-plan.ts), as an insert there would.
export const MANUAL_RETRY = `
  UPDATE jobs SET status = 'pending', attempts = 0, run_at = @now, finished_at = NULL, result = NULL, progress = NULL, updated_at = @now,
         concurrency_key = COALESCE(concurrency_key, (SELECT '' FROM queues q WHERE q.name = jobs.queue AND q.settings IS NOT NULL))
   WHERE id = @id AND status IN (SELECT value FROM json_each(@from))
  RETURNING *`;

// Params: id. A dependency back in line is unfinished again: its waiting dependents (policy
// 'ignore' kept them waiting when it ended) wait for it once more.
export const DEP_REOPEN = `
  UPDATE jobs SET pending_deps = pending_deps + 1
   WHERE status = 'waiting' AND id IN (SELECT job_id FROM job_deps WHERE depends_on = @id)`;

/** Params: queue, finishedBefore, limit. One statement per finished status (a literal), each on its own index. */
const prune = (status: 'completed' | 'failed' | 'cancelled') =>
  `DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE status = '${status}' AND queue = @queue AND finished_at < @finishedBefore LIMIT ${boundLimit('@limit')})`;
export const PRUNE = { completed: prune('completed'), failed: prune('failed'), cancelled: prune('cancelled') } as const;

// Params: queue
export const NEXT_RUN_AT = `SELECT MIN(run_at) AS next FROM jobs WHERE status = 'scheduled' AND queue = @queue`;
