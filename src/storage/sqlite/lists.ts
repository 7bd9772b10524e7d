/**
 * Listings on SQLite: each filter walks its own index (storage/list-order.ts),
 * rows are read one at a time and the page stops at its size or its byte
 * budget, whichever comes first, so a page over 1 MiB payloads never builds
 * hundreds of megabytes in memory.
 */
import type { JobListPage, JobListParams, ListedJob } from '../../contracts/store.js';
import { walkFiltered, type WalkRange } from '../filtered-walk.js';
import { listColumns, rowHeavyBytes, rowSortValues, rowToListedJob, SORT_COLUMNS, type JobRow, type SortRow } from '../job-row.js';
import { decodeCursor, encodeCursor, listOrder, type KeyValue, type ListOrder } from '../list-order.js';
import { filteredHitsSql, listQueryParts, rangeCountSql, rangeRowAtSql, residualCondition, tableRows, type ListQueryPart, type RangeRows } from '../sql-keyset.js';
import { boundLimit } from './bound-limit.js';
import type { SqliteConn } from './conn.js';

export function listJobs(c: SqliteConn, p: JobListParams): JobListPage | Promise<JobListPage> {
  const order = listOrder(p.queue, p.status);
  const after = decodeCursor(order, p.cursor);
  const columns = listColumns(p.include);
  // Processing jobs are few (at most the running ones): the lease index holds them all.
  const rows = tableRows(p.status === 'processing' ? 'jobs INDEXED BY jobs_leases' : 'jobs');
  const parts = listQueryParts(order, p.queue === undefined ? [] : [p.queue], after, (n) => `@p${n}`);
  const residual: Record<string, KeyValue> = {};
  const match = residualCondition(p, (v) => {
    const name = `r${Object.keys(residual).length}`;
    residual[name] = v;
    return `@${name}`;
  });
  if (match !== null) return listFiltered(c, p, order, parts, rows, match, residual);
  const out: ListedJob[] = [];
  let bytes = 0;
  let last: KeyValue[] | null = null;
  return c.read(() => {
    for (const part of parts) {
      const params: Record<string, KeyValue> = { limit: p.limit + 1 - out.length };
      part.values.forEach((v, i) => (params[`p${i + 1}`] = v));
      const stmt = c.stmt(rows(part, columns, boundLimit('@limit')));
      for (const row of stmt.iterate(params) as IterableIterator<JobRow>) {
        if (out.length === p.limit || (out.length > 0 && bytes >= p.maxBytes)) {
          return { jobs: out, nextCursor: encodeCursor(order, last!) };
        }
        out.push(rowToListedJob(row));
        bytes += rowHeavyBytes(row);
        last = rowSortValues(order, row);
      }
    }
    return { jobs: out, nextCursor: null };
  });
}

/** With residual filters (see filtered-walk.ts): the matches' sort keys come from SQLite, then each match is read whole by its rowid. */
function listFiltered(c: SqliteConn, p: JobListParams, order: ListOrder, parts: ListQueryPart[], rows: RangeRows, match: string, residual: Record<string, KeyValue>) {
  const whole = c.stmt(`SELECT ${listColumns(p.include)} FROM jobs WHERE seq = @seq`);
  const ranges = parts.map((part): WalkRange<SortRow> => {
    const hits = filteredHitsSql(part, rows, match, { inner: SORT_COLUMNS, outer: SORT_COLUMNS }, boundLimit('@within'), boundLimit('@max'));
    const count = rangeCountSql(part, rows, boundLimit('@upTo'));
    const rowAt = rangeRowAtSql(part, rows, SORT_COLUMNS, '@at');
    const params: Record<string, KeyValue> = { ...residual };
    part.values.forEach((v, i) => (params[`p${i + 1}`] = v));
    return {
      hits: (within, max) => c.read(() => c.stmt(hits).all({ ...params, within, max }) as SortRow[]),
      count: (upTo) => c.read(() => (c.stmt(count).get({ ...params, upTo }) as { n: number }).n),
      keyAt: (at) => c.read(() => rowSortValues(order, c.stmt(rowAt).get({ ...params, at }) as SortRow)),
    };
  });
  return walkFiltered({
    order,
    limit: p.limit,
    maxBytes: p.maxBytes,
    maxScan: p.maxScan,
    ranges,
    key: (hit) => rowSortValues(order, hit),
    take: (hit) =>
      c.read(() => {
        // Deleted since the walk found it (a prune between two statements): passed over.
        const row = whole.get({ seq: hit.seq }) as JobRow | undefined;
        return row ? { job: rowToListedJob(row), bytes: rowHeavyBytes(row) } : null;
      }),
  });
}
