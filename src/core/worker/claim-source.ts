/**
 * Where a dispatch loop gets its jobs. Today the store (SKIP LOCKED claims on
 * Postgres, one write transaction on SQLite); a Kafka consumer group can be
 * another source with the same shape: it hands out leased jobs and says when
 * the next scheduled one falls due.
 */
import type { LeasedJob } from '../../contracts/job.js';
import type { Store } from '../../contracts/store.js';
import type { ClaimRequest, LeaseApi } from '../leases/lease-api.js';

export interface ClaimSource {
  /** Leased jobs; `wakeAt` set when flow control held some back (the loop wakes then, not at the next poll). */
  claim(req: ClaimRequest): Promise<LeasedJob[] & { wakeAt?: number; limited?: boolean }>;
  /** Earliest run time of a scheduled job of the queue, for the loop's wake-up timer. */
  nextRunAt(queue: string): Promise<number | null>;
}

export function storeClaimSource(store: Store, leases: LeaseApi): ClaimSource {
  return {
    claim: (req) => leases.claim(req),
    nextRunAt: (queue) => store.jobNextRunAt(queue),
  };
}
