/**
 * Listings of the memory store, in the same orders and with the same cursors
 * as the SQL backends (storage/list-order.ts). It filters and sorts in code:
 * the store is bounded (100,000 unfinished jobs by default), so a page costs
 * one pass over it.
 */
import type { JobListPage, JobListParams, ListedJob } from '../../contracts/store.js';
import { compareKeys, decodeCursor, encodeCursor, listOrder, type KeyValue, type SortField } from '../list-order.js';
import { listedView, type MemJob } from './mem-job.js';

function keyOf(job: MemJob, fields: readonly SortField[]): KeyValue[] {
  return fields.map((f) => {
    switch (f) {
      case 'seq':
        return job.seq;
      case 'queue':
        return job.queue;
      case 'type':
        return job.type;
      case 'priority':
        return job.priority;
      case 'runAt':
        return job.runAt;
      case 'leaseExpiresAt':
        return job.leaseExpiresAt ?? 0;
      case 'finishedAt':
        return job.finishedAt ?? 0;
    }
  });
}

export function listJobs(jobs: Iterable<MemJob>, p: JobListParams): JobListPage {
  const order = listOrder(p.queue, p.status);
  const after = decodeCursor(order, p.cursor);
  const fields = order.keys.map((k) => k.field);
  const candidates: { job: MemJob; key: KeyValue[] }[] = [];
  for (const job of jobs) {
    if (p.queue !== undefined && job.queue !== p.queue) continue;
    if (p.status !== undefined && job.status !== p.status) continue;
    const key = keyOf(job, fields);
    if (after && compareKeys(order, key, after) <= 0) continue;
    candidates.push({ job, key });
  }
  candidates.sort((a, b) => compareKeys(order, a.key, b.key));
  const out: ListedJob[] = [];
  let bytes = 0;
  let last: KeyValue[] | null = null;
  for (const c of candidates) {
    if (out.length === p.limit || (out.length > 0 && bytes >= p.maxBytes)) {
      return { jobs: out, nextCursor: encodeCursor(order, last!) };
    }
    out.push(listedView(c.job, p.include));
    bytes += (p.include.payload ? c.job.payloadJson.length : 0) + (p.include.result ? (c.job.resultJson?.length ?? 0) : 0);
    last = c.key;
  }
  return { jobs: out, nextCursor: null };
}
