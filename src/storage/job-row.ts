/**
 * The row shape shared by the SQL backends (snake_case columns, JSON as text,
 * times as epoch ms) and its mapping to the public Job.
 */
import type { Job, JobError, JobStatus, LeasedJob, TraceContext } from '../contracts/job.js';
import type { ListedJob, ListInclude } from '../contracts/store.js';
import type { KeyValue, ListOrder, SortField } from './list-order.js';

export interface JobRow {
  seq: number;
  id: string;
  queue: string;
  type: string;
  payload: string;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  result: string | null;
  errors: string;
  progress: number | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  key: string | null;
  /** JSON array of ids, or null. */
  depends_on: string | null;
  concurrency_key: string | null;
  rate_key: string | null;
  /** JSON {traceparent, tracestate}, or null; not selected by listings. */
  trace_context?: string | null;
}

/** Every column but the two that may be large; listings add them only when asked. */
export const LIGHT_COLUMNS =
  'seq, id, queue, type, status, priority, attempts, max_attempts, timeout_ms, run_at, created_at, started_at, finished_at, updated_at, errors, progress, lease_expires_at, key, depends_on, concurrency_key, rate_key';

/**
 * What a claimed job is read with: the columns of JobRow, not `*` (SQLite's
 * bookkeeping columns, unique_key, key_until, on_dep_failure, pending_deps
 * and has_dependents, cost time in every row and are never read).
 */
export const JOB_COLUMNS = `${LIGHT_COLUMNS}, payload, result, lease_token, trace_context`;

/**
 * A JobRow from its values in JOB_COLUMNS order (keep the two together).
 * SQLite's claims read their rows as arrays: better-sqlite3 built a row
 * object of these 25 columns at 10.4 µs a row and an array at 4.6 (50-row
 * reads, 2026-11-29), and this literal costs little.
 */
export function jobRowFromValues(v: readonly unknown[]): JobRow {
  return {
    seq: v[0] as number,
    id: v[1] as string,
    queue: v[2] as string,
    type: v[3] as string,
    status: v[4] as string,
    priority: v[5] as number,
    attempts: v[6] as number,
    max_attempts: v[7] as number,
    timeout_ms: v[8] as number | null,
    run_at: v[9] as number,
    created_at: v[10] as number,
    started_at: v[11] as number | null,
    finished_at: v[12] as number | null,
    updated_at: v[13] as number,
    errors: v[14] as string,
    progress: v[15] as number | null,
    lease_expires_at: v[16] as number | null,
    key: v[17] as string | null,
    depends_on: v[18] as string | null,
    concurrency_key: v[19] as string | null,
    rate_key: v[20] as string | null,
    payload: v[21] as string,
    result: v[22] as string | null,
    lease_token: v[23] as string | null,
    trace_context: v[24] as string | null,
  };
}

export function listColumns(include: ListInclude): string {
  return `${LIGHT_COLUMNS}${include.payload ? ', payload' : ''}${include.result ? ', result' : ''}`;
}

const NO_ERRORS = '[]';

/**
 * One object literal per job, every field in one order: claims map every
 * leased row, and building the job by spreading partial objects (as before)
 * cost a drain of 50,000 jobs on SQLite 70 ms of its 1.3 s CPU, and more
 * garbage to collect.
 */
function jobOf(row: Omit<JobRow, 'payload' | 'result'>, payload: unknown, result: unknown): Job {
  return {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payload,
    status: row.status as JobStatus,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    runAt: row.run_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
    result,
    // Most jobs never failed: skip the parse for the common case.
    errors: row.errors === NO_ERRORS ? [] : (JSON.parse(row.errors) as JobError[]),
    progress: row.progress,
    leaseExpiresAt: row.lease_expires_at,
    key: row.key ?? null,
    dependsOn: row.depends_on ? (JSON.parse(row.depends_on) as string[]) : [],
    // '' is the keyless group of a flow-controlled queue (storage/flow-plan.ts), never a user key.
    concurrencyKey: row.concurrency_key || null,
    rateKey: row.rate_key ?? null,
    traceContext: row.trace_context ? (JSON.parse(row.trace_context) as TraceContext) : null,
  };
}

/** Claim order, for rows the database handed back in no set order: priority first, then run time, then seq. */
export function claimOrder(a: Pick<JobRow, 'priority' | 'run_at' | 'seq'>, b: Pick<JobRow, 'priority' | 'run_at' | 'seq'>): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq;
}

export function rowToJob(row: JobRow): Job {
  return jobOf(row, JSON.parse(row.payload) as unknown, row.result === null ? null : (JSON.parse(row.result) as unknown));
}

export function rowToLeasedJob(row: JobRow): LeasedJob {
  const job = rowToJob(row) as LeasedJob;
  job.leaseToken = row.lease_token ?? '';
  return job;
}

/** A listed row: payload and result only if they were selected. */
export function rowToListedJob(row: Partial<JobRow> & Omit<JobRow, 'payload' | 'result'>): ListedJob {
  const job: ListedJob = jobOf(row, row.payload === undefined ? undefined : JSON.parse(row.payload), row.result === undefined ? undefined : row.result === null ? null : JSON.parse(row.result));
  if (row.payload === undefined) delete job.payload;
  if (row.result === undefined) delete job.result;
  return job;
}

/** Bytes of the heavy fields a listed row carries (what the page budget counts). */
export function rowHeavyBytes(row: Partial<JobRow>): number {
  return (row.payload?.length ?? 0) + (row.result?.length ?? 0);
}

/** The columns every listing order sorts by (a filtered walk reads only these before it knows a row matches). */
export const SORT_COLUMNS = 'id, seq, queue, type, priority, run_at, lease_expires_at, finished_at';

export type SortRow = Pick<JobRow, 'id' | 'seq' | 'queue' | 'type' | 'priority' | 'run_at' | 'lease_expires_at' | 'finished_at'>;

/** The row's sort key in a listing's order. */
export function rowSortValues(order: ListOrder, row: SortRow): KeyValue[] {
  const field: Record<SortField, KeyValue | null> = {
    id: row.id,
    seq: row.seq,
    queue: row.queue,
    type: row.type,
    priority: row.priority,
    runAt: row.run_at,
    leaseExpiresAt: row.lease_expires_at,
    finishedAt: row.finished_at,
  };
  return order.keys.map((k) => field[k.field] ?? 0);
}
