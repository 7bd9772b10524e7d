/**
 * Turns a listing order and its cursor into SQL for the SQL backends: one
 * statement per keyset range (see list-order.ts), each an index range with
 * its own ORDER BY and LIMIT. Parameters are always bound; `param` gives the
 * dialect's placeholder for a value.
 */
import { JOB_STATUSES } from '../contracts/job.js';
import { keysetRanges, type KeyValue, type ListOrder, type SortField } from './list-order.js';

export const COLUMN: Readonly<Record<SortField, string>> = {
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
