/** The rows a claim leased, read after its UPDATE returned their seqs (see CLAIM_ONE_TYPE in job-sql.ts). */
import type { JobRow } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';

/** Runs a claim statement (RETURNING seq) and reads the rows it leased, inside the caller's write transaction. */
export function leasedRows(c: SqliteConn, claimSql: string, params: Record<string, unknown>): JobRow[] {
  const seqs = c.stmt(claimSql).pluck().all(params) as number[];
  if (seqs.length === 0) return [];
  if (seqs.length === 1) return [c.stmt(SQL.JOB_BY_SEQ).get(seqs[0]) as JobRow];
  return c.stmt(SQL.JOBS_BY_SEQS).all(JSON.stringify(seqs)) as JobRow[];
}
