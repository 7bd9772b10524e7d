/**
 * User operations on one job (cancel, manual retry): the core names the
 * statuses each may start from (OPERATIONS in contracts/job.ts), the store
 * applies the change only from those, and the core explains a refusal the
 * same way on every backend: not_found, illegal_transition, or — when the
 * job kept changing under it — conflict.
 */
import { JobqError } from '../contracts/errors.js';
import { assertOperation, OPERATIONS, type Job, type Operation } from '../contracts/job.js';
import type { DependentChange, JobChangeParams, JobChangeResult, Store } from '../contracts/store.js';

const ATTEMPTS = 3;

export async function applyOperation(store: Store, op: Operation, id: string, now: () => number): Promise<{ job: Job; dependents?: DependentChange[] }> {
  const apply = (p: JobChangeParams): Promise<JobChangeResult> => (op === 'cancel' ? store.jobCancel(p) : store.jobRetry(p));
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const r = await apply({ id, from: OPERATIONS[op].from, now: now() });
    if (r.job) return r.dependents ? { job: r.job, dependents: r.dependents } : { job: r.job };
    if (r.current === null) throw new JobqError('not_found', `no job with id ${id}`);
    // Throws illegal_transition when the job's status does not allow the operation; when it
    // does, the job changed between the attempt and its explanation: try again.
    assertOperation(id, op, r.current);
  }
  throw new JobqError('conflict', `job ${id} kept changing while it was being updated; try again`);
}
