/** Types with pending jobs in a queue, found by skipping through jobs_claim (one seek per type). */
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';

export function pendingTypes(c: SqliteConn, queue: string): string[] {
  const next = c.stmt(SQL.NEXT_PENDING_TYPE);
  const out: string[] = [];
  for (let after = ''; ; ) {
    const row = next.get({ queue, after }) as { type: string } | undefined;
    if (!row) return out;
    out.push(row.type);
    after = row.type;
  }
}
