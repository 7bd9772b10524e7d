/**
 * How listings are ordered and paged, the same on every backend. Each filter
 * walks the index that already exists for its status, so a listing never
 * scans the table and never needs an index that would slow the hot path
 * (an extra `(status, seq)` index cost 12 % of SQLite drain throughput,
 * measured). Pages are keyset-based: the cursor holds the sort key of the
 * last job shown, tagged with the order it belongs to.
 */
import type { JobStatus } from '../contracts/job.js';
import { invalidCursor } from './errors.js';

/** A sort key of the listing, as a job field (the SQL backends map it to a column). */
export type SortField = 'id' | 'seq' | 'queue' | 'type' | 'priority' | 'runAt' | 'leaseExpiresAt' | 'finishedAt';

export interface SortKey {
  field: SortField;
  desc?: boolean;
}

export interface ListOrder {
  /** Tag carried by the cursor, so a cursor of another filter is refused. */
  tag: string;
  keys: readonly SortKey[];
  /** Keys fixed by an equality filter (the queue), leading `keys`. */
  fixed: number;
  status?: JobStatus;
  /** A queue filter that is not a key prefix (processing: few rows, filtered after the index). */
  queueFilter?: string;
}

const QUEUE_FIRST: Record<string, readonly SortKey[]> = {
  waiting: [{ field: 'queue' }, { field: 'seq' }],
  pending: [{ field: 'queue' }, { field: 'type' }, { field: 'priority', desc: true }, { field: 'runAt' }, { field: 'seq' }],
  scheduled: [{ field: 'queue' }, { field: 'runAt' }, { field: 'seq' }],
  completed: [{ field: 'queue' }, { field: 'finishedAt' }, { field: 'seq' }],
  failed: [{ field: 'queue' }, { field: 'finishedAt' }, { field: 'seq' }],
  cancelled: [{ field: 'queue' }, { field: 'finishedAt' }, { field: 'seq' }],
};

export function listOrder(queue: string | undefined, status: JobStatus | undefined): ListOrder {
  if (status === undefined) {
    // Everything: by id, a UUIDv7, which starts with the millisecond the job was made, so the
    // primary key (every backend has one on id) is the order jobs were made in, processing ones
    // included. A queue alone: in the order it received them (seq), through jobs_list.
    return queue === undefined
      ? { tag: 'all', keys: [{ field: 'id' }], fixed: 0 }
      : { tag: 'queue', keys: [{ field: 'queue' }, { field: 'seq' }], fixed: 1 };
  }
  if (status === 'processing') {
    const order: ListOrder = { tag: 'processing', keys: [{ field: 'leaseExpiresAt' }, { field: 'seq' }], fixed: 0, status };
    if (queue !== undefined) order.queueFilter = queue;
    return order;
  }
  return { tag: status, keys: QUEUE_FIRST[status]!, fixed: queue === undefined ? 0 : 1, status };
}

export type KeyValue = string | number;

/** The residual filters of a listing as one predicate over a row's light fields; null when there are none. */
export function residualFilter(p: { type?: string; key?: string; createdAfter?: number; createdBefore?: number }): ((j: { type: string; key: string | null; createdAt: number }) => boolean) | null {
  const { type, key, createdAfter, createdBefore } = p;
  if (type === undefined && key === undefined && createdAfter === undefined && createdBefore === undefined) return null;
  return (j) =>
    (type === undefined || j.type === type) &&
    (key === undefined || j.key === key) &&
    (createdAfter === undefined || j.createdAt >= createdAfter) &&
    (createdBefore === undefined || j.createdAt < createdBefore);
}

/** A job id as jobq writes them (lowercase, so text and uuid comparisons agree): anything else in a cursor is forged. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a cursor's value can be one of `field`'s: what reaches the database is always of the column's type. */
function validKeyValue(field: SortField, v: unknown): boolean {
  switch (field) {
    case 'id':
      return typeof v === 'string' && JOB_ID.test(v);
    case 'queue':
    case 'type':
      return typeof v === 'string' && v.length <= 256;
    default:
      return typeof v === 'number' && Number.isSafeInteger(v);
  }
}

export function encodeCursor(order: ListOrder, values: readonly KeyValue[]): string {
  return Buffer.from(JSON.stringify([order.tag, ...values]), 'utf8').toString('base64url');
}

/** The sort key after which the page starts; undefined for the first page. Throws invalid_request on a forged cursor. */
export function decodeCursor(order: ListOrder, cursor: string | undefined): KeyValue[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parsed) || parsed[0] !== order.tag || parsed.length !== order.keys.length + 1) throw invalidCursor();
  const values = parsed.slice(1) as unknown[];
  order.keys.forEach((k, i) => {
    if (!validKeyValue(k.field, values[i])) throw invalidCursor();
  });
  return values as KeyValue[];
}

/** Compares two sort keys in listing order (for the memory store, which sorts in code). */
export function compareKeys(order: ListOrder, a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < order.keys.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const c = x < y ? -1 : 1;
    return order.keys[i]!.desc ? -c : c;
  }
  return 0;
}

/**
 * One range of the keyset walk: the first `equal` free keys equal the
 * cursor's, the next one is strictly after it (or, for `rowTail`, the rest of
 * the key compared as one row value, all ascending).
 */
export interface KeysetRange {
  equal: number;
  rowTail: boolean;
}

/**
 * The ranges that together hold every row after the cursor, in listing order:
 * deepest first. For pending after (q, t, p, r, s) they are: queue=q, type=t,
 * priority=p, (runAt, seq) > (r, s); then priority < p; then type > t; then
 * queue > q. Each is one index range; a page takes them in turn until full.
 */
export function keysetRanges(order: ListOrder): KeysetRange[] {
  const free = order.keys.length - order.fixed;
  // The last two keys, when both ascending, are compared as one row value (x, seq) > (?, ?):
  // one range instead of two, and a shape both SQLite and Postgres walk as an index range.
  let tail = 0;
  while (tail < Math.min(2, free) && !order.keys[order.keys.length - 1 - tail]!.desc) tail++;
  const ranges: KeysetRange[] = [];
  if (tail >= 2) ranges.push({ equal: free - tail, rowTail: true });
  const firstSingle = tail >= 2 ? free - tail - 1 : free - 1;
  for (let i = firstSingle; i >= 0; i--) ranges.push({ equal: i, rowTail: false });
  return ranges;
}
