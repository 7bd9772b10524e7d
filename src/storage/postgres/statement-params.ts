/**
 * The parameters of the insert and finish statements (sql.ts), written once
 * for both of their forms: the batch form takes one array per column
 * (unnest()), the one-row form the same values as scalars (a job enqueued
 * or finished alone).
 */
import type { JobFinish, NewJobRecord } from '../../contracts/store.js';
import { traceContextText } from '../../contracts/store.js';
import { arrayLiteral, arrayLiteralOrNull } from './array-literal.js';

type Value = string | number | null;

/**
 * One parameter: its value for an item, and how a batch sends it: 'array',
 * one element per item; 'sparse', the same, or a single NULL when no item has
 * a value (arrayLiteralOrNull); 'first', the first item's value for the whole
 * batch. 'now': the statement's time.
 */
type Param<T> = readonly [value: (item: T) => Value, batch: 'array' | 'sparse' | 'first'] | 'now';

function batchParams<T>(params: readonly Param<T>[], items: readonly T[], now: number): unknown[] {
  return params.map((p) => {
    if (p === 'now') return now;
    const [value, batch] = p;
    return batch === 'first' ? value(items[0]!) : batch === 'sparse' ? arrayLiteralOrNull(items, value) : arrayLiteral(items, value);
  });
}

function rowParams<T>(params: readonly Param<T>[], item: T, now: number): unknown[] {
  return params.map((p) => (p === 'now' ? now : p[0](item)));
}

/** insert and insertOne: id, queue, type, payload, status, priority, maxAttempts, timeout, runAt, createdAt, concurrencyKey, rateKey, orderingKey, traceContext. */
const INSERT: readonly Param<NewJobRecord>[] = [
  [(r) => r.id, 'array'],
  [(r) => r.queue, 'array'],
  [(r) => r.type, 'array'],
  [(r) => r.payloadJson, 'array'],
  [(r) => r.status, 'array'],
  [(r) => r.priority, 'array'],
  [(r) => r.maxAttempts, 'array'],
  [(r) => r.timeoutMs, 'sparse'],
  [(r) => r.runAt, 'array'],
  // One enqueue's jobs share their creation time.
  [(r) => r.createdAt, 'first'],
  [(r) => r.concurrencyKey, 'sparse'],
  [(r) => r.rateKey, 'sparse'],
  [(r) => r.orderingKey ?? null, 'sparse'],
  [traceContextText, 'sparse'],
];

/** The finishes' parameters: ids, tokens, statuses (decided by the core), results, runAts, errors (JSON text or null), now, refunds. */
const FINISH: readonly Param<JobFinish>[] = [
  [(f) => f.id, 'array'],
  [(f) => f.leaseToken, 'array'],
  [(f) => (f.outcome.kind === 'retry' || f.outcome.kind === 'throttled' ? f.outcome.status : f.outcome.kind), 'array'],
  [(f) => (f.outcome.kind === 'completed' ? f.outcome.resultJson : null), 'array'],
  [(f) => (f.outcome.kind === 'retry' || f.outcome.kind === 'throttled' ? f.outcome.runAt : null), 'array'],
  [(f) => (f.outcome.kind === 'retry' || f.outcome.kind === 'failed' ? JSON.stringify(f.outcome.error) : null), 'array'],
  'now',
  // A throttled job gives its attempt back.
  [(f) => (f.outcome.kind === 'throttled' ? 1 : 0), 'array'],
];

/** The parameters of `insert` for `jobs` (at least one), or of `insertOne` for a single job. */
export function insertParams(jobs: readonly NewJobRecord[]): unknown[] {
  return jobs.length === 1 ? rowParams(INSERT, jobs[0]!, 0) : batchParams(INSERT, jobs, 0);
}

/** The parameters of a finish statement for `finishes` (at least one), or of its one-row form for a single finish. */
export function finishParams(finishes: readonly JobFinish[], now: number): unknown[] {
  return finishes.length === 1 ? rowParams(FINISH, finishes[0]!, now) : batchParams(FINISH, finishes, now);
}
