/**
 * The enqueue path: checks and builds records, makes sure their queues exist
 * (within maxQueues), writes them through one group committer (calls of the
 * same tick share one transaction and one fsync), then emits `enqueued` and
 * wakes the local loops.
 */
import { JobqError } from '../contracts/errors.js';
import type { Job } from '../contracts/job.js';
import type { NewJobRecord, Store } from '../contracts/store.js';
import type { Clock } from './clock.js';
import { toNewJobRecord, type EnqueueInput } from './enqueue-input.js';
import type { EventBus } from './events/event-bus.js';
import { GroupCommitter } from './group-commit.js';
import { event } from './leases/lease-api.js';
import type { ResolvedOptions } from './options.js';

export interface EnqueuerDeps {
  store: Store;
  clock: Clock;
  options: ResolvedOptions;
  events: EventBus;
  /** After a commit: wake loops, arm due timers, warn about unhandled types. */
  inserted(records: readonly NewJobRecord[]): void;
}

export class Enqueuer {
  private readonly inserter: GroupCommitter<NewJobRecord, undefined>;
  private readonly knownQueues = new Set<string>();

  constructor(private readonly deps: EnqueuerDeps) {
    this.inserter = new GroupCommitter(async (jobs) => {
      await deps.store.jobInsertMany({ jobs });
      return jobs.map(() => undefined);
    }, deps.options.maxCommitBatch);
  }

  toRecords<P>(inputs: readonly EnqueueInput<P>[]): NewJobRecord[] {
    const { maxBatchSize } = this.deps.options.limits;
    if (inputs.length === 0) throw new JobqError('invalid_request', 'a batch needs at least one job', { details: { field: 'jobs' } });
    if (inputs.length > maxBatchSize) {
      throw new JobqError('batch_too_large', `a batch holds at most ${maxBatchSize} jobs; got ${inputs.length}`, { details: { limit: maxBatchSize } });
    }
    const now = this.deps.clock.now();
    const single = inputs.length === 1;
    return inputs.map((input, i) => toNewJobRecord(input, this.deps.options, now, single ? undefined : i));
  }

  /** Registers queues this process has not seen yet (one store call per new name, then cached). */
  async ensureQueues(names: Iterable<string>): Promise<void> {
    const fresh: string[] = [];
    for (const n of names) if (!this.knownQueues.has(n) && !fresh.includes(n)) fresh.push(n);
    if (fresh.length === 0) return;
    await this.deps.store.queueRegister({ names: fresh, maxQueues: this.deps.options.limits.maxQueues, now: this.deps.clock.now() });
    for (const n of fresh) this.knownQueues.add(n);
  }

  async enqueueMany<P>(inputs: readonly EnqueueInput<P>[]): Promise<Job<P>[]> {
    const records = this.toRecords(inputs);
    await this.ensureQueues(records.map((r) => r.queue));
    const { events } = this.deps;
    const ids = events.wanted ? records.map((r) => r.id) : null;
    if (ids) events.hold(ids);
    try {
      await this.inserter.add(records);
    } catch (err) {
      if (ids) events.release(ids, []);
      throw err;
    }
    if (ids) events.release(ids, records.map((r) => event('enqueued', { id: r.id, queue: r.queue, type: r.type, attempts: 0 }, r.status, r.createdAt)));
    this.deps.inserted(records);
    return records.map((r, i) => recordToJob<P>(r, inputs[i]!.payload));
  }

  drain(): Promise<void> {
    return this.inserter.drain();
  }
}

/** Spelled out, not spread from a shared helper: on the HTTP hot path a spread measured 29k vs 32k req/s. */
export function recordToJob<P>(r: NewJobRecord, payload: P | undefined): Job<P> {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: (payload ?? null) as P,
    status: r.status,
    priority: r.priority,
    attempts: 0,
    maxAttempts: r.maxAttempts,
    timeoutMs: r.timeoutMs,
    runAt: r.runAt,
    createdAt: r.createdAt,
    startedAt: null,
    finishedAt: null,
    updatedAt: r.createdAt,
    result: null,
    errors: [],
    progress: null,
    leaseExpiresAt: null,
  };
}
