/**
 * Unique keys and dependencies on Postgres. A held key is enforced by the
 * unique index on `unique_key` (INSERT … ON CONFLICT DO NOTHING: 50
 * concurrent enqueues of one key on three nodes give one job); a finished
 * holder past its `key_until` is released when a new job asks for the key.
 * A batch with dependencies locks its dependencies (FOR SHARE) while it
 * counts how many are unfinished, so a dependency cannot finish unseen.
 * Completions move dependents inside the finish statement itself (sql.ts);
 * failures and cancels move theirs right after, and a sweep on the leader
 * repairs what a crash or a race in between left waiting.
 */
import type pg from 'pg';
import { JobqError } from '../../contracts/errors.js';
import { FINISHED_STATUSES, MAX_ERRORS_KEPT, type JobStatus } from '../../contracts/job.js';
import type { Deduplicated, DependentChange, InsertResult, NewJobRecord } from '../../contracts/store.js';
import { traceContextText } from '../../contracts/store.js';
import { rowToJob, type JobRow } from '../job-row.js';

export function linkStatements(s: string, channel: string) {
  return {
    depStatuses: `SELECT id::text AS id, status FROM ${s}.jobs WHERE id = ANY($1::uuid[]) FOR SHARE`,
    // Params: keys, now
    releaseKeys: `
      UPDATE ${s}.jobs SET unique_key = NULL
       WHERE unique_key = ANY($1::text[]) AND status IN (${FINISHED_STATUSES.map((x) => `'${x}'`).join(', ')}) AND (key_until IS NULL OR key_until <= $2)`,
    insert: `
      WITH ins AS (
        INSERT INTO ${s}.jobs (id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at, created_at, updated_at,
                               key, unique_key, key_until, depends_on, on_dep_failure, pending_deps, finished_at, errors, concurrency_key, rate_key, ordering_key, trace_context)
        SELECT v.id, v.queue, v.type, v.payload::json, v.status, v.priority, v.max_attempts, v.timeout_ms, v.run_at, $10, $10,
               v.key, v.key, v.key_until, v.depends_on::jsonb, v.on_dep_failure, v.pending_deps, v.finished_at, v.errors::jsonb, COALESCE(v.concurrency_key, (SELECT '' FROM ${s}.queues q WHERE q.name = v.queue AND q.settings IS NOT NULL)), v.rate_key, v.ordering_key, v.trace_context::jsonb
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::bigint[], $9::bigint[],
                      $11::text[], $12::bigint[], $13::text[], $14::text[], $15::int[], $16::bigint[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
               AS v(id, queue, type, payload, status, priority, max_attempts, timeout_ms, run_at,
                    key, key_until, depends_on, on_dep_failure, pending_deps, finished_at, errors, concurrency_key, rate_key, ordering_key, trace_context)
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
        RETURNING id, queue, status)
      SELECT id::text AS id, (SELECT pg_notify('${channel}', string_agg(DISTINCT queue, ',')) FROM ins WHERE status IN ('pending', 'scheduled')) AS n FROM ins`,
    holders: `SELECT * FROM ${s}.jobs WHERE unique_key = ANY($1::text[])`,
    holderIds: `SELECT id::text AS id, unique_key FROM ${s}.jobs WHERE unique_key = ANY($1::text[])`,
    // Params: id, payload, priority, runAt, status, now
    replace: `
      UPDATE ${s}.jobs SET payload = $2::json, priority = $3, run_at = $4, status = $5, updated_at = $6
       WHERE id = $1 AND status IN ('pending', 'scheduled') RETURNING *`,
    link: `INSERT INTO ${s}.job_deps (depends_on, job_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING`,
    mark: `UPDATE ${s}.jobs SET has_dependents = true WHERE id = ANY($1::uuid[]) AND NOT has_dependents`,
    // Params: id. Waiting dependents of an ended job, locked.
    waiting: `
      SELECT w.id::text AS id, w.queue, w.type, w.attempts, w.on_dep_failure FROM ${s}.jobs w
       WHERE w.id IN (SELECT job_id FROM ${s}.job_deps WHERE depends_on = $1) AND w.status = 'waiting'
       FOR UPDATE`,
    // Params: id, now
    depDone: `
      UPDATE ${s}.jobs SET pending_deps = pending_deps - 1, updated_at = $2,
             status = CASE WHEN pending_deps > 1 THEN 'waiting' WHEN run_at <= $2 THEN 'pending' ELSE 'scheduled' END
       WHERE id = $1 AND status = 'waiting' RETURNING status`,
    // Params: id, status, error (JSON or null), now
    depEnd: `
      UPDATE ${s}.jobs SET status = $2, finished_at = $4, updated_at = $4,
             errors = CASE WHEN $3::text IS NULL THEN errors WHEN jsonb_array_length(errors) >= ${MAX_ERRORS_KEPT} THEN (errors - 1) || jsonb_build_array($3::jsonb) ELSE errors || jsonb_build_array($3::jsonb) END
       WHERE id = $1 AND status = 'waiting' RETURNING has_dependents`,
    // Params: limit. Waiting jobs none of whose dependencies is still unfinished: a race or a crash left them.
    stranded: `
      SELECT w.id::text AS id, w.on_dep_failure, w.run_at FROM ${s}.jobs w
       WHERE w.status = 'waiting'
         AND NOT EXISTS (SELECT 1 FROM ${s}.job_deps d JOIN ${s}.jobs x ON x.id = d.depends_on
                          WHERE d.job_id = w.id AND x.status NOT IN ('completed', 'failed', 'cancelled'))
       LIMIT $1`,
    // Params: id. The finished dependencies of a stranded job.
    endedDeps: `SELECT x.id::text AS id, x.status FROM ${s}.job_deps d JOIN ${s}.jobs x ON x.id = d.depends_on WHERE d.job_id = $1`,
    // Params: id, status (pending | scheduled), now. A stranded job made ready.
    settle: `
      UPDATE ${s}.jobs SET pending_deps = 0, updated_at = $3, status = $2
       WHERE id = $1 AND status = 'waiting' RETURNING id::text AS id, queue, type, attempts`,
    endedJob: `SELECT queue, type, attempts FROM ${s}.jobs WHERE id = $1`,
    // Params: id, key
    retake: `UPDATE ${s}.jobs SET unique_key = $2 WHERE id = $1`,
  };
}

export type LinkStatements = ReturnType<typeof linkStatements>;

type Client = pg.ClientBase;

/** Inserts a batch holding keys or dependencies, inside the caller's transaction. */
export async function insertLinked(c: Client, sql: LinkStatements, batch: readonly NewJobRecord[]): Promise<InsertResult> {
  const now = batch[0]!.createdAt;
  const deduplicated: Deduplicated[] = [];
  const initial: InsertResult['initial'] = [];
  const keys = [...new Set(batch.flatMap((j) => (j.key === null ? [] : [j.key])))];
  if (keys.length > 0) await c.query(sql.releaseKeys, [keys, now]);
  // A record whose key is held (by a stored job, or an earlier record of the batch) will not be
  // stored: a later record that depends on it depends on the holder instead.
  const holderOf = new Map<string, string>();
  if (keys.length > 0) {
    const held = new Map((await c.query<{ id: string; unique_key: string }>(sql.holderIds, [keys])).rows.map((h) => [h.unique_key, h.id]));
    for (const r of batch) {
      if (r.key === null) continue;
      const holder = held.get(r.key);
      if (holder !== undefined) holderOf.set(r.id, holder);
      else held.set(r.key, r.id);
    }
  }
  const jobs = holderOf.size === 0 ? batch : batch.map((r) => (r.dependsOn?.some((d) => holderOf.has(d)) ? { ...r, dependsOn: [...new Set(r.dependsOn.map((d) => holderOf.get(d) ?? d))] } : r));
  const inBatch = new Set(jobs.filter((j) => !holderOf.has(j.id)).map((j) => j.id));
  const external = [...new Set(jobs.flatMap((j) => (j.dependsOn ?? []).filter((d) => !inBatch.has(d))))];
  const statuses = new Map<string, JobStatus>();
  if (external.length > 0) for (const r of (await c.query<{ id: string; status: JobStatus }>(sql.depStatuses, [external])).rows) statuses.set(r.id, r.status);
  const starts = jobs.map((r) => {
    let pending = 0;
    for (const dep of r.dependsOn ?? []) {
      const st = statuses.get(dep);
      if (st === undefined) {
        throw new JobqError('unknown_dependency', `job ${r.id} depends on ${dep}, which does not exist (dependencies must be stored already or come earlier in the same batch)`, {
          details: { dependency: dep },
        });
      }
      if (st === 'completed') continue;
      if (st === 'failed' || st === 'cancelled') {
        if (r.onDependencyFailure === 'ignore') continue;
        const status: JobStatus = r.onDependencyFailure === 'fail' ? 'failed' : 'cancelled';
        statuses.set(r.id, status);
        return { status, pending: 0, reason: `dependency ${dep} ${st}` };
      }
      pending++;
    }
    const status: JobStatus = pending > 0 ? 'waiting' : r.status;
    statuses.set(r.id, status);
    return { status, pending, reason: undefined as string | undefined };
  });
  const col = <T>(f: (r: NewJobRecord, i: number) => T) => jobs.map(f);
  const { rows } = await c.query<{ id: string }>(sql.insert, [
    col((r) => r.id),
    col((r) => r.queue),
    col((r) => r.type),
    col((r) => r.payloadJson),
    col((_, i) => starts[i]!.status),
    col((r) => r.priority),
    col((r) => r.maxAttempts),
    col((r) => r.timeoutMs),
    col((r) => r.runAt),
    now,
    col((r) => r.key),
    col((r) => r.keyUntil),
    col((r) => (r.dependsOn ? JSON.stringify(r.dependsOn) : null)),
    col((r) => (r.dependsOn ? r.onDependencyFailure : null)),
    col((_, i) => starts[i]!.pending),
    col((_, i) => (starts[i]!.status === 'failed' || starts[i]!.status === 'cancelled' ? now : null)),
    col((_, i) => JSON.stringify(starts[i]!.status === 'failed' ? [{ attempt: 0, message: starts[i]!.reason, at: now }] : [])),
    col((r) => r.concurrencyKey),
    col((r) => r.rateKey),
    col((r) => r.orderingKey ?? null),
    col(traceContextText),
  ]);
  const inserted = new Set(rows.map((r) => r.id));
  const missing = jobs.filter((j) => !inserted.has(j.id));
  // A key taken by another enqueue between the look above and this insert: a record of the batch
  // depending on the one it kept out would wait on nothing. Roll back; the caller may try again.
  const unforeseen = new Set(missing.filter((j) => !holderOf.has(j.id)).map((j) => j.id));
  if (unforeseen.size > 0 && jobs.some((j) => j.dependsOn?.some((d) => unforeseen.has(d)))) {
    throw new JobqError('conflict', 'a key of this batch was taken by another enqueue while it was being stored; try again');
  }
  if (missing.length > 0) {
    const holders = new Map((await c.query<JobRow & { unique_key: string }>(sql.holders, [missing.map((j) => j.key)])).rows.map((h) => [h.unique_key, h]));
    for (const r of missing) {
      const holder = holders.get(r.key!);
      if (!holder) throw new JobqError('conflict', `the key "${r.key}" changed hands during the enqueue; try again`);
      const replaced = r.onConflict === 'replace' && (holder.status === 'pending' || holder.status === 'scheduled');
      const after = replaced ? (await c.query<JobRow>(sql.replace, [holder.id, r.payloadJson, r.priority, r.runAt, r.runAt <= now ? 'pending' : 'scheduled', now])).rows[0]! : holder;
      deduplicated.push({ index: jobs.indexOf(r), job: rowToJob(after), replaced });
    }
  }
  const links = jobs.filter((j) => inserted.has(j.id) && j.dependsOn);
  if (links.length > 0) {
    const from = links.flatMap((j) => j.dependsOn!);
    await c.query(sql.link, [from, links.flatMap((j) => j.dependsOn!.map(() => j.id))]);
    await c.query(sql.mark, [[...new Set(from)]]);
  }
  jobs.forEach((r, index) => {
    if (inserted.has(r.id) && starts[index]!.status !== r.status) initial.push({ index, status: starts[index]!.status });
  });
  return { deduplicated, initial };
}

/** A job failed or was cancelled: its waiting dependents follow their policy, and so on down the chain. */
export async function cascadeEnd(c: Client, sql: LinkStatements, id: string, status: 'failed' | 'cancelled', now: number): Promise<DependentChange[]> {
  const changes: DependentChange[] = [];
  const todo = [{ id, status: status as JobStatus }];
  while (todo.length > 0) {
    const dep = todo.shift()!;
    const waiting = (await c.query<{ id: string; queue: string; type: string; attempts: number; on_dep_failure: string }>(sql.waiting, [dep.id])).rows;
    for (const w of waiting) {
      const ref = { id: w.id, queue: w.queue, type: w.type, attempts: w.attempts, dependency: dep.id };
      if (w.on_dep_failure === 'ignore') {
        const r = (await c.query<{ status: JobStatus }>(sql.depDone, [w.id, now])).rows[0];
        if (r && r.status !== 'waiting') changes.push({ ...ref, status: r.status as 'pending' | 'scheduled' });
        continue;
      }
      const end = w.on_dep_failure === 'fail' ? 'failed' : 'cancelled';
      const error = end === 'failed' ? JSON.stringify({ attempt: w.attempts, message: `dependency ${dep.id} ${dep.status}`, at: now }) : null;
      const r = (await c.query<{ has_dependents: boolean }>(sql.depEnd, [w.id, end, error, now])).rows[0];
      if (!r) continue;
      changes.push({ ...ref, status: end });
      if (r.has_dependents) todo.push({ id: w.id, status: end });
    }
  }
  return changes;
}

/** Waiting jobs whose dependencies all ended but which were not moved (a crash between a failure and its cascade, a race): set them straight. */
export async function sweepStranded(c: Client, sql: LinkStatements, now: number, limit: number): Promise<DependentChange[]> {
  const changes: DependentChange[] = [];
  const stranded = (await c.query<{ id: string; on_dep_failure: string; run_at: number }>(sql.stranded, [limit])).rows;
  for (const s of stranded) {
    const deps = (await c.query<{ id: string; status: JobStatus }>(sql.endedDeps, [s.id])).rows;
    const bad = deps.find((d) => d.status !== 'completed');
    if (bad && s.on_dep_failure !== 'ignore') {
      const end = s.on_dep_failure === 'fail' ? 'failed' : 'cancelled';
      const error = end === 'failed' ? JSON.stringify({ attempt: 0, message: `dependency ${bad.id} ${bad.status}`, at: now }) : null;
      const r = (await c.query<{ has_dependents: boolean }>(sql.depEnd, [s.id, end, error, now])).rows[0];
      if (!r) continue;
      const job = (await c.query<{ queue: string; type: string; attempts: number }>(sql.endedJob, [s.id])).rows[0]!;
      changes.push({ id: s.id, ...job, status: end, dependency: bad.id });
      if (r.has_dependents) changes.push(...(await cascadeEnd(c, sql, s.id, end, now)));
    } else {
      const status = s.run_at <= now ? 'pending' : 'scheduled';
      const r = (await c.query<{ id: string; queue: string; type: string; attempts: number }>(sql.settle, [s.id, status, now])).rows[0];
      if (r) changes.push({ ...r, status, dependency: deps[0]?.id ?? s.id });
    }
  }
  return changes;
}
