/**
 * Listings on SQLite: each filter walks its own index (storage/list-order.ts),
 * rows are read one at a time and the page stops at its size or its byte
 * budget, whichever comes first, so a page over 1 MiB payloads never builds
 * hundreds of megabytes in memory.
 */
import type { JobListPage, JobListParams, ListedJob } from '../../contracts/store.js';
import { listColumns, rowHeavyBytes, rowSortValues, rowToListedJob, type JobRow } from '../job-row.js';
import { decodeCursor, encodeCursor, listOrder, type KeyValue } from '../list-order.js';
import { listQueryParts } from '../sql-keyset.js';
import type { SqliteConn } from './conn.js';

export function listJobs(c: SqliteConn, p: JobListParams): JobListPage {
  const order = listOrder(p.queue, p.status);
  const after = decodeCursor(order, p.cursor);
  const columns = listColumns(p.include);
  // Processing jobs are few (at most the running ones): the lease index holds them all.
  const from = p.status === 'processing' ? 'jobs INDEXED BY jobs_leases' : 'jobs';
  const out: ListedJob[] = [];
  let bytes = 0;
  let last: KeyValue[] | null = null;
  return c.read(() => {
    for (const part of listQueryParts(order, p.queue === undefined ? [] : [p.queue], after, (n) => `@p${n}`)) {
      const params: Record<string, KeyValue> = { limit: p.limit + 1 - out.length };
      part.values.forEach((v, i) => (params[`p${i + 1}`] = v));
      const stmt = c.stmt(`SELECT ${columns} FROM ${from} WHERE ${part.where} ORDER BY ${part.orderBy} LIMIT @limit`);
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
