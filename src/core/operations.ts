/**
 * User operations on one job (cancel, manual retry): the core names the
 * statuses each may start from (OPERATIONS in contracts/job.ts), the store
 * applies the change only from those, and the core explains a refusal the
 * same way on every backend: not_found, illegal_transition, or — when the
 * job kept changing under it — conflict.
 */
import { JobqError } from '../contracts/errors.js';
import { assertOperation, OPERATIONS, type Job, type Operation } from '../contracts/job.js';
import type { DependentChange, JobChangeParams, JobChangeResult, JobRef, Store } from '../contracts/store.js';
import type { Clock } from './clock.js';
import type { EventBus } from './events/event-bus.js';
import { dependentEvents, event, type LeaseApi } from './leases/lease-api.js';
import type { WorkerPool } from './worker/worker-pool.js';

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

export interface JobOperationsDeps {
  store: Store;
  clock: Clock;
  events: EventBus;
  leases: LeaseApi;
  /** This node's pool, when it works queues: a cancel aborts a local run, a retry wakes the loop. */
  pool: WorkerPool | null;
}

/** cancel and retry as Jobq offers them: the store change, then the local run, the events and the dependents. */
export class JobOperations {
  constructor(private readonly d: JobOperationsDeps) {}

  async cancel(id: string): Promise<Job> {
    const { job, dependents } = await applyOperation(this.d.store, 'cancel', id, () => this.d.clock.now());
    this.d.pool?.abortLocal(id, 'cancelled');
    this.emitFor(job, 'cancelled', dependents);
    return job;
  }

  async retry(id: string): Promise<Job> {
    const { job } = await applyOperation(this.d.store, 'retry', id, () => this.d.clock.now());
    this.d.pool?.notify([job.queue]);
    this.emitFor(job, 'retried');
    return job;
  }

  private emitFor(job: Job, kind: 'cancelled' | 'retried', dependents?: DependentChange[]): void {
    const ref: JobRef = { id: job.id, queue: job.queue, type: job.type, attempts: job.attempts, ...(dependents && { dependents }) };
    if (this.d.events.wanted) this.d.events.emit([event(kind, ref, job.status, job.updatedAt), ...dependentEvents(ref, job.updatedAt)]);
    if (dependents) this.d.leases.readyDependents(ref);
  }
}
