/**
 * Claims on SQLite, in one write transaction: promote the queue's due
 * scheduled jobs, then lease up to `limit` ready jobs of the wanted types in
 * claim order. jobs_claim is ordered (queue, type, priority, run_at, seq), so
 * one type is one index range; several types are merged here from the head
 * of each range (a node rarely has more than a few).
 */
import { hasLimits, NO_LIMITS, type ClaimedJobs, type JobClaimParams, type QueueSettings } from '../../contracts/store.js';
import type { KeyUsage } from '../flow-usage.js';
import { claimLimited } from './flow.js';
import { pendingTypes } from './pending-types.js';
import { claimOrder, rowToLeasedJob, type JobRow } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';
import { leaseSeqs, type Lease } from './leased-rows.js';

interface Candidate {
  seq: number;
  priority: number;
  run_at: number;
}

/** `usage`: the store's record of each key's recent use, for fair claims on flow-controlled queues. */
export function claim(c: SqliteConn, p: JobClaimParams, usage: KeyUsage): ClaimedJobs {
  if (p.limit <= 0) return [];
  const lease: Lease = { now: p.now, leaseToken: p.leaseToken, leaseExpiresAt: p.now + p.leaseMs };
  let limited: ClaimedJobs | null = null;
  let nextRunAt: number | null | undefined;
  const rows = c.write(() => {
    const state = c.stmt(SQL.QUEUE_STATE).get(p.queue, p.now, p.queue) as { paused: number; settings: string | null; rr_cursor: string | null; held: number } | undefined;
    if (state?.paused) return [];
    c.stmt(SQL.PROMOTE_DUE).run(p.now, p.queue, p.now);
    const settings = state?.settings ? (JSON.parse(state.settings) as QueueSettings) : null;
    if (hasLimits(settings) || state?.held) {
      limited = claimLimited(c, p, hasLimits(settings) ? settings : NO_LIMITS, state?.rr_cursor ?? null, usage);
      return [];
    }
    const leased = leasePlain(c, p, lease);
    // The due ones were promoted above: what is still scheduled runs after now.
    if (leased.length < p.limit) nextRunAt = nextScheduledRunAt(c, p.queue);
    return leased;
  });
  if (limited) return limited;
  // Rows read back by a JSON list of seqs come in no set order; hand jobs out in claim order.
  rows.sort(claimOrder);
  const jobs: ClaimedJobs = rows.map(rowToLeasedJob);
  if (nextRunAt !== undefined) jobs.nextRunAt = nextRunAt;
  return jobs;
}

/** The earliest run time of a scheduled job of `queue` (null: none). */
export function nextScheduledRunAt(c: SqliteConn, queue: string): number | null {
  return (c.stmt(SQL.NEXT_RUN_AT).get({ queue }) as { next: number | null }).next;
}

/** Leases up to `limit` ready jobs of the wanted types (all pending types when none are named), in claim order. */
function leasePlain(c: SqliteConn, p: JobClaimParams, lease: Lease): JobRow[] {
  const types = p.types ?? pendingTypes(c, p.queue);
  if (types.length === 0) return [];
  if (types.length === 1) return leaseSeqs(c, c.stmt(SQL.CLAIM_HEAD).pluck().all(p.queue, types[0], p.limit) as number[], lease);
  const candidates: Candidate[] = [];
  const head = c.stmt(SQL.CLAIM_CANDIDATES);
  for (const type of types) candidates.push(...(head.all(p.queue, type, p.limit) as Candidate[]));
  candidates.sort(claimOrder);
  return leaseSeqs(c, candidates.slice(0, p.limit).map((x) => x.seq), lease);
}
