/**
 * Counts what a long-polling claim asks the store for one queue: its claims
 * (`jobClaim`) and its reads of the queue's next due time (`jobNextRunAt`,
 * the last thing a claim does before it goes to sleep). Lets a test wait for
 * "the claim found nothing and is asleep" instead of sleeping, and prove that
 * a waiting claim never polls the store.
 */
import type { Store } from '../../src/contracts/store.js';

export interface StoreCalls {
  /** jobClaim calls for the queue so far. */
  claims: number;
  /** jobNextRunAt reads for the queue so far. */
  dueReads: number;
  /** Puts the store's own methods back. */
  restore(): void;
}

export function watchStoreCalls(store: Store, queue: string): StoreCalls {
  const claim = store.jobClaim;
  const nextRunAt = store.jobNextRunAt;
  const calls: StoreCalls = {
    claims: 0,
    dueReads: 0,
    restore() {
      store.jobClaim = claim;
      store.jobNextRunAt = nextRunAt;
    },
  };
  store.jobClaim = (params) => {
    if (params.queue === queue) calls.claims++;
    return claim.call(store, params);
  };
  store.jobNextRunAt = (q) => {
    if (q === queue) calls.dueReads++;
    return nextRunAt.call(store, q);
  };
  return calls;
}
