/**
 * Many finishes at once through the core's lease API: completions settled in
 * one tick share one store statement (the core's finisher, which also sorts
 * out a job finished twice in one batch under a stale and a current token);
 * releases go in one call; each item answered in the order asked.
 */
import { JobqError, RateLimitedError } from '../../contracts/errors.js';
import type { LeaseRef } from '../../contracts/job.js';
import type { Jobq } from '../../core/jobq.js';
import type { FailBody, FinishItem, ItemAnswer } from './lease-schemas.js';

/**
 * A remote worker's error as the core would see a thrown one: its message and
 * its own stack (never the server's frames); a throttle as a RateLimitedError.
 */
export function remoteError(e: { message: string; stack?: string }, throttle?: FailBody['rateLimited']): Error {
  const err = throttle ? new RateLimitedError({ retryAfterMs: throttle.retryAfterMs, scope: throttle.scope ?? 'key', message: e.message }) : new Error(e.message);
  Object.defineProperty(err, 'stack', { value: e.stack, enumerable: false });
  return err;
}

/** 413 for a result the server would refuse to store (the lease is left alone: the worker may fail the job instead). */
export function resultCheck(maxResultBytes: number): (result: unknown) => JobqError | null {
  return (result) => {
    const json = result === undefined ? '' : JSON.stringify(result);
    if (json === undefined || json.length <= maxResultBytes || Buffer.byteLength(json) <= maxResultBytes) return null;
    return new JobqError('payload_too_large', `the result is ${Buffer.byteLength(json)} bytes of JSON; the limit is ${maxResultBytes}`, { details: { field: 'result', limit: maxResultBytes } });
  };
}

export async function finishAll(jobq: Jobq, items: readonly FinishItem[], tooLarge: (result: unknown) => JobqError | null): Promise<ItemAnswer[]> {
  const answers: ItemAnswer[] = items.map((f) => ({ id: f.id, leaseToken: f.leaseToken, applied: false, status: null }));
  const releases: number[] = [];
  await Promise.all(
    items.map(async (f, i) => {
      const ref = { id: f.id, leaseToken: f.leaseToken };
      const a = answers[i]!;
      if (f.outcome === 'released') return void releases.push(i);
      if (f.outcome === 'completed') {
        const refused = tooLarge(f.result);
        if (refused) return void (a.error = { code: refused.code, message: refused.message });
        a.applied = await jobq.complete(ref, f.result);
        a.status = a.applied ? 'completed' : null;
        return;
      }
      if (!f.error) return void (a.error = { code: 'invalid_request', message: `finishes[${i}].error is required when outcome is failed` });
      const out = await jobq.fail(ref, remoteError(f.error, f.rateLimited), {
        ...(f.retryable !== undefined && { retryable: f.retryable }),
        ...(f.retryAfterMs !== undefined && { retryAfterMs: f.retryAfterMs }),
      });
      a.applied = out.applied;
      a.status = out.status;
    }),
  );
  const held = await perLease(
    releases.map((i) => items[i]!),
    (batch) => jobq.release(batch),
  );
  releases.forEach((i, k) => {
    answers[i]!.applied = held[k]!;
    answers[i]!.status = held[k] ? 'pending' : null;
  });
  return answers;
}

/**
 * Runs a lease call that answers with job ids, per lease: the first lease of
 * each job in one call, a job's further leases (a stale token beside the
 * current one) one call each after it, so an id in the answer always means
 * the lease it was asked with. Returns, per lease in order, whether it held.
 */
export async function perLease(leases: readonly LeaseRef[], call: (batch: LeaseRef[]) => Promise<string[]>): Promise<boolean[]> {
  const held = new Array<boolean>(leases.length).fill(false);
  if (leases.length === 0) return held;
  const seen = new Set<string>();
  const first: number[] = [];
  const later: number[] = [];
  leases.forEach((l, i) => (seen.has(l.id) ? later.push(i) : (seen.add(l.id), first.push(i))));
  const ok = new Set(await call(first.map((i) => leases[i]!)));
  for (const i of first) held[i] = ok.has(leases[i]!.id);
  for (const i of later) held[i] = (await call([leases[i]!])).length === 1;
  return held;
}
