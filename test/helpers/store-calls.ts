/**
 * Counts what a long-polling claim asks the store for one queue: its claims
 * (`jobClaim`) and its reads of the queue's next due time (the last thing a
 * claim does before it goes to sleep: with the claim when the store reads it
 * there, ClaimedJobs.nextRunAt, else `jobNextRunAt`). Lets a test wait for
 * "the claim found nothing and is asleep" instead of sleeping, and prove that
 * a waiting claim never polls the store.
 */
import type { Store } from '../../src/contracts/store.js';

export interface StoreCalls {
  /** jobClaim calls for the queue so far. */
  claims: number;
  /** Reads of the queue's next due time so far: claims that came back short saying it, and jobNextRunAt calls (counted once answered). */
  dueReads: number;
  /** jobNextRunAt calls for the queue so far: the due time read apart from a claim. */
  lookups: number;
  /** Puts the store's own methods back. */
  restore(): void;
}

export function watchStoreCalls(store: Store, queue: string): StoreCalls {
  const claim = store.jobClaim;
  const nextRunAt = store.jobNextRunAt;
  const calls: StoreCalls = {
    claims: 0,
    dueReads: 0,
    lookups: 0,
    restore() {
      store.jobClaim = claim;
      store.jobNextRunAt = nextRunAt;
    },
  };
  store.jobClaim = async (params) => {
    if (params.queue !== queue) return claim.call(store, params);
    calls.claims++;
    const jobs = await claim.call(store, params);
    if (jobs.nextRunAt !== undefined) calls.dueReads++;
    return jobs;
  };
  store.jobNextRunAt = async (q) => {
    if (q === queue) calls.lookups++;
    const next = await nextRunAt.call(store, q);
    if (q === queue) calls.dueReads++;
    return next;
  };
  return calls;
}
