/**
 * Unique keys and dependencies on SQLite, always inside the caller's write
 * transaction. A held key is enforced by the unique index on `unique_key`
 * (never by a read-then-write); a finished holder past its `key_until` is
 * released lazily, when a new job asks for the key. A finished dependency
 * moves its waiting dependents in the same transaction, and their ends move
 * theirs.
 */
import { concurrencyKeys } from './flow.js';
import { JobqError } from '../../contracts/errors.js';
import { isFinished, type JobError, type JobStatus } from '../../contracts/job.js';
import type { Deduplicated, DependentChange, InsertResult, NewJobRecord } from '../../contracts/store.js';
import { traceContextText } from '../../contracts/store.js';
import { rowToJob, type JobRow } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';

/** The holder of a key now, after releasing it if its hold is over; undefined when free. */
function holderOf(c: SqliteConn, key: string, now: number): JobRow | undefined {
  const h = c.stmt(SQL.KEY_HOLDER).get({ key }) as (JobRow & { key_until: number | null }) | undefined;
  if (h && isFinished(h.status as JobStatus) && (h.key_until === null || h.key_until <= now)) {
    c.stmt(SQL.KEY_RELEASE).run({ seq: h.seq });
    return undefined;
  }
  return h;
}

/** Where a new job starts given its dependencies' statuses (waiting, or ended at once by its policy). */
function startOf(c: SqliteConn, r: NewJobRecord, batch: Map<string, JobStatus>): { status: JobStatus; pending: number; reason?: string } {
  let pending = 0;
  for (const dep of r.dependsOn ?? []) {
    const status = batch.get(dep) ?? (c.stmt(SQL.DEP_STATUS).get({ id: dep }) as { status: JobStatus } | undefined)?.status;
    if (status === undefined) {
      throw new JobqError('unknown_dependency', `job ${r.id} depends on ${dep}, which does not exist (dependencies must be stored already or come earlier in the same batch)`, {
        details: { dependency: dep },
      });
    }
    if (status === 'completed') continue;
    if (status === 'failed' || status === 'cancelled') {
      if (r.onDependencyFailure === 'ignore') continue;
      return { status: r.onDependencyFailure === 'fail' ? 'failed' : 'cancelled', pending: 0, reason: `dependency ${dep} ${status}` };
    }
    pending++;
  }
  return { status: pending > 0 ? 'waiting' : r.status, pending };
}

/** Inserts a batch holding keys or dependencies (the plain path is INSERT_JOB). */
export function insertLinked(c: SqliteConn, jobs: readonly NewJobRecord[]): InsertResult {
  const deduplicated: Deduplicated[] = [];
  const initial: InsertResult['initial'] = [];
  const batch = new Map<string, JobStatus>();
  const insert = c.stmt(SQL.INSERT_LINKED_JOB);
  const keyOf = concurrencyKeys(c);
  // A record whose key was held is not stored: a later record that depends on it depends on the holder.
  const holders = new Map<string, string>();
  jobs.forEach((record, index) => {
    const r = record.dependsOn?.some((d) => holders.has(d)) ? { ...record, dependsOn: [...new Set(record.dependsOn.map((d) => holders.get(d) ?? d))] } : record;
    const now = r.createdAt;
    const start = startOf(c, r, batch);
    const ended = start.status === 'failed' || start.status === 'cancelled';
    const errors: JobError[] = start.status === 'failed' ? [{ attempt: 0, message: start.reason!, at: now }] : [];
    const row = {
      id: r.id,
      queue: r.queue,
      type: r.type,
      payload: r.payloadJson,
      status: start.status,
      priority: r.priority,
      maxAttempts: r.maxAttempts,
      timeoutMs: r.timeoutMs,
      runAt: r.runAt,
      createdAt: r.createdAt,
      key: r.key,
      keyUntil: r.keyUntil,
      dependsOn: r.dependsOn ? JSON.stringify(r.dependsOn) : null,
      onDepFailure: r.dependsOn ? r.onDependencyFailure : null,
      pendingDeps: start.pending,
      finishedAt: ended ? now : null,
      errors: JSON.stringify(errors),
      concurrencyKey: keyOf(r.queue, r.concurrencyKey),
      rateKey: r.rateKey,
      traceContext: traceContextText(r),
    };
    // The common case is a free key: insert first, and only on a conflict look at the holder
    // (releasing it if its hold is over, then taking the key after all).
    if (insert.run(row).changes === 0 && (holderOf(c, r.key!, now) !== undefined || insert.run(row).changes === 0)) {
      const holder = holderOf(c, r.key!, now)!;
      const replaced = r.onConflict === 'replace' && (holder.status === 'pending' || holder.status === 'scheduled');
      const after = replaced
        ? (c.stmt(SQL.KEY_REPLACE).get({ seq: holder.seq, payload: r.payloadJson, priority: r.priority, runAt: r.runAt, status: r.runAt <= now ? 'pending' : 'scheduled', now }) as JobRow)
        : holder;
      deduplicated.push({ index, job: rowToJob(after), replaced });
      holders.set(r.id, after.id);
      return;
    }
    batch.set(r.id, start.status);
    if (start.status !== r.status) initial.push({ index, status: start.status });
    for (const dep of r.dependsOn ?? []) {
      c.stmt(SQL.DEP_LINK).run({ dependsOn: dep, jobId: r.id });
      c.stmt(SQL.DEP_MARK).run({ id: dep });
    }
  });
  return { deduplicated, initial };
}

/** A manually retried job takes its key back, unless another job holds it now (then nothing changes). */
export function retakeKey(c: SqliteConn, row: JobRow & { unique_key?: string | null }, now: number): void {
  if (row.key === null || row.unique_key) return;
  const other = holderOf(c, row.key, now);
  if (other && other.id !== row.id) throw new JobqError('conflict', `job ${row.id} cannot run again: job ${other.id} now holds its key "${row.key}"`);
  c.stmt(SQL.KEY_RETAKE).run({ seq: row.seq, key: row.key });
}

/** A job ended (completed, failed, cancelled): its waiting dependents move, and so on down the chain. */
export function cascade(c: SqliteConn, endedId: string, endedStatus: JobStatus, now: number): DependentChange[] {
  const changes: DependentChange[] = [];
  const todo: { id: string; status: JobStatus }[] = [{ id: endedId, status: endedStatus }];
  while (todo.length > 0) {
    const dep = todo.shift()!;
    const waiting = c.stmt(SQL.DEP_WAITING).all({ id: dep.id }) as { seq: number; id: string; queue: string; type: string; attempts: number; on_dep_failure: string; run_at: number }[];
    for (const w of waiting) {
      const ref = { id: w.id, queue: w.queue, type: w.type, attempts: w.attempts, dependency: dep.id };
      if (dep.status === 'completed' || w.on_dep_failure === 'ignore') {
        const r = c.stmt(SQL.DEP_DONE).get({ seq: w.seq, now }) as { status: JobStatus } | undefined;
        if (r && r.status !== 'waiting') changes.push({ ...ref, status: r.status as 'pending' | 'scheduled' });
      } else {
        const status = w.on_dep_failure === 'fail' ? 'failed' : 'cancelled';
        const error = JSON.stringify({ attempt: w.attempts, message: `dependency ${dep.id} ${dep.status}`, at: now });
        const r = (status === 'failed' ? c.stmt(SQL.DEP_FAIL).get({ seq: w.seq, error, now }) : c.stmt(SQL.DEP_CANCEL).get({ seq: w.seq, now })) as { has_dependents: number } | undefined;
        if (!r) continue;
        changes.push({ ...ref, status });
        if (r.has_dependents) todo.push({ id: w.id, status });
      }
    }
  }
  return changes;
}
