/**
 * Turns a listing order and its cursor into SQL for the SQL backends: one
 * statement per keyset range (see list-order.ts), each an index range with
 * its own ORDER BY and LIMIT. Parameters are always bound; `param` gives the
 * dialect's placeholder for a value.
 */
import { JOB_STATUSES } from '../contracts/job.js';
import { keysetRanges, type KeyValue, type ListOrder, type SortField } from './list-order.js';

export const COLUMN: Readonly<Record<SortField, string>> = {
  id: 'id',
  seq: 'seq',
  queue: 'queue',
  type: 'type',
  priority: 'priority',
  runAt: 'run_at',
  leaseExpiresAt: 'lease_expires_at',
  finishedAt: 'finished_at',
};

export interface ListQueryPart {
  /** Conditions joined with AND (never empty). */
  where: string;
  orderBy: string;
  /** The values of the placeholders, in order: placeholder(1) is values[0]. */
  values: KeyValue[];
}

/**
 * The statements of a page walk, in order. `fixed` holds the values of the
 * order's fixed keys (the queue filter); `after` is the decoded cursor or
 * undefined for the first page. `placeholder(n)` writes the dialect's n-th
 * parameter (1-based); each statement numbers its own from 1.
 */
export function listQueryParts(
  order: ListOrder,
  fixed: readonly KeyValue[],
  after: readonly KeyValue[] | undefined,
  placeholder: (n: number) => string,
): ListQueryPart[] {
  const free = order.keys.slice(order.fixed);
  const orderBy = (from: number) =>
    free
      .slice(from)
      .map((k) => `${COLUMN[k.field]}${k.desc ? ' DESC' : ''}`)
      .join(', ');
  const build = (extra: (param: (v: KeyValue) => string) => string[], from: number): ListQueryPart => {
    const values: KeyValue[] = [];
    const param = (v: KeyValue) => {
      values.push(v);
      return placeholder(values.length);
    };
    const where: string[] = [];
    // The status is written as a literal (it is one of JOB_STATUSES): a partial index is used
    // only when the query names its status itself, not through a parameter.
    if (order.status !== undefined) {
      if (!(JOB_STATUSES as readonly string[]).includes(order.status)) throw new Error(`unknown status ${order.status}`);
      where.push(`status = '${order.status}'`);
    }
    if (order.queueFilter !== undefined) where.push(`queue = ${param(order.queueFilter)}`);
    order.keys.slice(0, order.fixed).forEach((k, i) => where.push(`${COLUMN[k.field]} = ${param(fixed[i]!)}`));
    where.push(...extra(param));
    return { where: where.join(' AND ') || 'TRUE', orderBy: orderBy(from), values };
  };
  if (after === undefined) return [build(() => [], 0)];
  const cur = after.slice(order.fixed);
  return keysetRanges(order).map(({ equal, rowTail }) =>
    build((param) => {
      const where: string[] = [];
      for (let i = 0; i < equal; i++) where.push(`${COLUMN[free[i]!.field]} = ${param(cur[i]!)}`);
      if (rowTail) {
        const cols = free.slice(equal).map((k) => COLUMN[k.field]);
        where.push(`(${cols.join(', ')}) > (${cur.slice(equal).map(param).join(', ')})`);
      } else {
        const k = free[equal]!;
        where.push(`${COLUMN[k.field]} ${k.desc ? '<' : '>'} ${param(cur[equal]!)}`);
      }
      return where;
    }, equal),
  );
}

/**
 * The residual filters (type, key, creation time) as one SQL condition, its
 * values bound through `param`; null without any. A NULL key makes it NULL,
 * which CASE WHEN reads as false, as the memory store's predicate does.
 */
export function residualCondition(
  p: { type?: string; key?: string; createdAfter?: number; createdBefore?: number },
  param: (v: KeyValue) => string,
): string | null {
  const terms: string[] = [];
  if (p.type !== undefined) terms.push(`type = ${param(p.type)}`);
  if (p.key !== undefined) terms.push(`key = ${param(p.key)}`);
  if (p.createdAfter !== undefined) terms.push(`created_at >= ${param(p.createdAfter)}`);
  if (p.createdBefore !== undefined) terms.push(`created_at < ${param(p.createdBefore)}`);
  return terms.length === 0 ? null : terms.join(' AND ');
}

/**
 * The SELECT of a range's first `limit` rows in order (`cols` of each), after
 * `offset` of them when given; `limit` and `offset` are SQL (placeholders).
 * A plain table reads the range from one index; Postgres merges two for a
 * queue's listing in the order it received its jobs (postgres/lists.ts).
 */
export type RangeRows = (part: ListQueryPart, cols: string, limit: string, offset?: string) => string;

/** The range read straight from `table` (a name, or a name with SQLite's INDEXED BY). */
export function tableRows(table: string): RangeRows {
  return (part, cols, limit, offset) =>
    `SELECT ${cols} FROM ${table} WHERE ${part.where} ORDER BY ${part.orderBy} LIMIT ${limit}${offset === undefined ? '' : ` OFFSET ${offset}`}`;
}

/**
 * The three statements of a filtered walk over one range (see filtered-walk.ts),
 * each an index range like the plain listing's. The matches among the range's
 * first `within` rows: the subquery reads the range in order and stops at
 * `within`, the outer query keeps the matches; both SQLite and Postgres see
 * that the subquery's order already is the outer ORDER BY, so nothing is
 * sorted and the walk stops as soon as `max` matches are found. The match is
 * a column of the subquery: written in the outer WHERE, `type = ?` would let
 * SQLite drop type from the ORDER BY and then sort the rest (a temp B-tree
 * over the whole range).
 */
export function filteredHitsSql(part: ListQueryPart, rows: RangeRows, match: string, cols: { inner: string; outer: string }, within: string, max: string): string {
  return `SELECT ${cols.outer} FROM (${rows(part, `${cols.inner}, CASE WHEN ${match} THEN 1 ELSE 0 END AS hit`, within)}) AS walk WHERE hit = 1 ORDER BY ${part.orderBy} LIMIT ${max}`;
}

/** How many rows the range holds, counted up to `upTo`, as `n`. */
export function rangeCountSql(part: ListQueryPart, rows: RangeRows, upTo: string): string {
  return `SELECT count(*) AS n FROM (${rows(part, '1', upTo)}) AS walk`;
}

/** The row at offset `at` of the range. */
export function rangeRowAtSql(part: ListQueryPart, rows: RangeRows, cols: string, at: string): string {
  return rows(part, cols, '1', at);
}
