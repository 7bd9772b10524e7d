/**
 * Leasing the jobs a claim picked, by seq, inside the claim's write
 * transaction, and reading back the rows it leased.
 *
 * A claim first reads the seqs it will lease (jobs_claim, in claim order),
 * then updates them by primary key. One UPDATE whose WHERE reads
 * `seq IN (SELECT … LIMIT n)` materializes its subquery first, and for the
 * claim of one job cost 0.12–0.23 ms against 0.05 for the select and an
 * update by seq. A few jobs are updated one statement each; many go in one
 * UPDATE over a JSON list of seqs (50 jobs: 0.22–0.28 ms against 0.30–0.48
 * one by one). The rows are read after the update: SQLite's RETURNING of
 * all 25 columns cost more than the UPDATE and a SELECT together (57 against
 * 26 µs for one job, 242 against 197 for 50); and as arrays (job-row.ts,
 * jobRowFromValues). Not even the seqs come back by RETURNING: the read by
 * the same list keeps the rows under this claim's token (a 200-job claim,
 * 11.8-12.9 against 10.1-11.9 µs per job).
 */
import { jobRowFromValues, type JobRow } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';

export interface Lease {
  now: number;
  leaseToken: string;
  leaseExpiresAt: number;
}

/** Up to this many seqs, a statement each; more take the JSON list. */
const ONE_BY_ONE_MAX = 8;

/** Leases those of `seqs` still pending and returns their rows (in no particular order). */
export function leaseSeqs(c: SqliteConn, seqs: readonly number[], lease: Lease): JobRow[] {
  if (seqs.length === 0) return [];
  if (seqs.length <= ONE_BY_ONE_MAX) {
    const update = c.stmt(SQL.LEASE_SEQ);
    const read = c.stmt(SQL.JOB_BY_SEQ).raw(true);
    const rows: JobRow[] = [];
    for (const seq of seqs) {
      if (update.run(lease.now, lease.now, lease.leaseToken, lease.leaseExpiresAt, seq).changes === 1) rows.push(jobRowFromValues(read.get(seq) as unknown[]));
    }
    return rows;
  }
  const list = JSON.stringify(seqs);
  const leased = c.stmt(SQL.CLAIM_SEQS).run({ seqs: list, ...lease }).changes;
  if (leased === 0) return [];
  const rows = (c.stmt(SQL.JOBS_BY_SEQS).raw(true).all(list) as unknown[][]).map(jobRowFromValues);
  // The callers read these seqs as pending in this same transaction, so all were leased; should one not have been, it is left out.
  return leased === rows.length ? rows : rows.filter((r) => r.lease_token === lease.leaseToken);
}
