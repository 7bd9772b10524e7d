/**
 * Listings of the memory store, in the same orders and with the same cursors
 * as the SQL backends (storage/list-order.ts). It filters and sorts in code:
 * the store is bounded (100,000 unfinished jobs by default), so a page costs
 * one pass over it.
 */
import type { JobListPage, JobListParams, ListedJob } from '../../contracts/store.js';
import { walkFiltered } from '../filtered-walk.js';
import { compareKeys, decodeCursor, encodeCursor, listOrder, residualFilter, type KeyValue, type SortField } from '../list-order.js';
import { listedView, uniqueKeyOf, type MemJob } from './mem-job.js';

/** What the residual filter reads of a job (its unique key sits in the job's extra). */
const filtered = (job: MemJob) => ({ type: job.type, key: uniqueKeyOf(job), createdAt: job.createdAt });

function keyOf(job: MemJob, fields: readonly SortField[]): KeyValue[] {
  return fields.map((f) => {
    switch (f) {
      case 'id':
        return job.id;
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

export function listJobs(jobs: Iterable<MemJob>, p: JobListParams): JobListPage | Promise<JobListPage> {
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
  const heavyBytes = (job: MemJob) => (p.include.payload ? job.payloadJson.length : 0) + (p.include.result ? (job.resultJson?.length ?? 0) : 0);
  const match = residualFilter(p);
  if (match !== null) {
    // The candidates after the cursor are the walk's one range.
    const range = {
      hits(within: number, max: number) {
        const out: typeof candidates = [];
        for (let i = 0; i < Math.min(within, candidates.length) && out.length < max; i++) if (match(filtered(candidates[i]!.job))) out.push(candidates[i]!);
        return out;
      },
      count: (upTo: number) => Math.min(candidates.length, upTo),
      keyAt: (index: number) => candidates[index]!.key,
    };
    return walkFiltered({
      order,
      limit: p.limit,
      maxBytes: p.maxBytes,
      maxScan: p.maxScan,
      ranges: [range],
      key: (c) => c.key,
      take: (c) => ({ job: listedView(c.job, p.include), bytes: heavyBytes(c.job) }),
    });
  }
  const out: ListedJob[] = [];
  let bytes = 0;
  let last: KeyValue[] | null = null;
  for (const c of candidates) {
    if (out.length === p.limit || (out.length > 0 && bytes >= p.maxBytes)) {
      return { jobs: out, nextCursor: encodeCursor(order, last!) };
    }
    out.push(listedView(c.job, p.include));
    bytes += heavyBytes(c.job);
    last = c.key;
  }
  return { jobs: out, nextCursor: null };
}
