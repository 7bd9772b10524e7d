/** What every conformance section gets: the store under test and small helpers. */
import { randomUUID } from 'node:crypto';
import type { JobError, LeasedJob } from '../../../src/contracts/job.js';
import type { JobOutcome, Store } from '../../../src/contracts/store.js';
import type { OpenedStore } from './suite.js';

export const T0 = Date.UTC(2030, 0, 1);
export const LEASE = 30_000;

export interface Ctx {
  store: Store;
  opened: OpenedStore;
  peers: Store[];
}

export function err(attempt: number, message = 'boom'): JobError {
  return { attempt, message, at: T0 };
}

/** The claimed jobs alone, as a plain array: what a claim learnt on the way (ClaimedJobs) is asserted by the tests that read it. */
export async function claim(store: Store, queue = 'default', limit = 10, now = T0, token = randomUUID(), types: readonly string[] | null = null): Promise<LeasedJob[]> {
  return [...(await store.jobClaim({ queue, types, limit, now, leaseMs: LEASE, leaseToken: token }))];
}

export async function finish(store: Store, job: LeasedJob, outcome: JobOutcome, now = T0): Promise<boolean> {
  return (await store.jobFinishMany({ finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome }], now })).length === 1;
}

export const completed = (resultJson: string | null = null): JobOutcome => ({ kind: 'completed', resultJson });
export const failed = (attempt = 1, message = 'boom'): JobOutcome => ({ kind: 'failed', error: err(attempt, message) });
export const retry = (runAt: number, now: number, attempt = 1, message = 'boom'): JobOutcome => ({
  kind: 'retry',
  status: runAt <= now ? 'pending' : 'scheduled',
  runAt,
  error: err(attempt, message),
});

export const MAX_QUEUES = 1000;

export async function peer(ctx: Ctx): Promise<Store | null> {
  if (!ctx.opened.openPeer) return null;
  const p = await ctx.opened.openPeer();
  ctx.peers.push(p);
  return p;
}
