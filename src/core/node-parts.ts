/**
 * Builds the parts of one node and connects them: the lease API, the
 * dispatch (the store's claims, or a plugged-in one such as Kafka), the
 * worker pool when the node works queues, the maintenance services, the
 * enqueuer and the queue, schedule and job APIs. Jobq offers them as one
 * object; the wiring lives here so the front door stays readable.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../contracts/store.js';
import { systemClock, type Clock } from './clock.js';
import { toNewJobRecord } from './enqueue-input.js';
import { Enqueuer } from './enqueuer.js';
import { EventBus, storeEventLink } from './events/event-bus.js';
import type { JobTypes } from './handler.js';
import { LeaseApi } from './leases/lease-api.js';
import { JobOperations } from './operations.js';
import { resolveOptions, type JobqOptions, type ResolvedOptions } from './options.js';
import { QueueApi } from './queue-api.js';
import { retryDelayMs } from './retry-policy.js';
import { ScheduleApi } from './schedules/schedule-api.js';
import type { Leadership } from './services/leadership.js';
import { maintenance } from './services/maintenance.js';
import type { NodeRegistry } from './services/node-registry.js';
import type { Service } from './services/service.js';
import { silentLogger } from './silent-logger.js';
import type { StoreHealth } from './services/store-health.js';
import { storeClaimSource, type Dispatch } from './worker/claim-source.js';
import type { RunHooks } from './worker/run-hooks.js';
import { WorkerPool } from './worker/worker-pool.js';

export interface NodeParts {
  options: ResolvedOptions;
  store: Store;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  events: EventBus;
  leases: LeaseApi;
  dispatch: Dispatch | null;
  /** Null on a node that works no queues (API-only). */
  pool: WorkerPool | null;
  health: StoreHealth;
  registry: NodeRegistry;
  leadership: Leadership;
  services: Service[];
  schedules: ScheduleApi;
  queues: QueueApi;
  enqueuer: Enqueuer;
  operations: JobOperations;
}

export function assembleNode<T extends JobTypes>(options: JobqOptions<T>, hooks: RunHooks): NodeParts {
  const o = resolveOptions(options);
  const store = o.store;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const nodeId = options.nodeId ?? randomUUID();
  const random = options.random ?? Math.random;
  const retryDelay = (attempt: number) => retryDelayMs(attempt, o.retry, random);
  // The pool is built after the parts that call into it; they reach it through this binding.
  let pool: WorkerPool | null = null;
  const wake = (queues: readonly string[]) => pool?.notify(queues);
  const events = new EventBus(storeEventLink(store, nodeId));
  const leases = new LeaseApi({
    store,
    clock,
    events,
    logger,
    leaseMs: o.leaseMs,
    maxResultBytes: o.limits.maxResultBytes,
    maxCommitBatch: o.maxCommitBatch,
    retryDelay,
    ready: (jobs) => pool?.ready(jobs),
  });
  const queueNames = Object.keys(o.queues);
  const storeSource = storeClaimSource(store, leases);
  const dispatch = options.dispatch?.({ store, leases, events, clock, logger, nodeId, queues: o.queues, leaseMs: o.leaseMs, storeSource, wake }) ?? null;
  if (queueNames.length > 0) {
    pool = new WorkerPool({
      leases,
      source: dispatch?.source ?? storeSource,
      handlers: o.handlers,
      hooks,
      queues: o.queues,
      clock,
      logger,
      leaseMs: o.leaseMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      pollIntervalMs: o.pollIntervalMs,
      maxResultBytes: o.limits.maxResultBytes,
      retryDelay,
      dependencies: (id) => store.jobDependencies(id),
    });
  }
  const workingPool = pool;
  const m = maintenance({
    store,
    clock,
    logger,
    events,
    options: o,
    nodeId,
    retryDelay,
    queues: queueNames,
    types: () => (workingPool ? Object.keys(o.handlers) : []),
    extendOwnLeases: () => workingPool?.extendLeasesNow() ?? Promise.resolve(),
    wake,
    enqueue: (inputs) => enqueuer.enqueueMany(inputs),
  });
  const enqueuer = new Enqueuer({
    store,
    clock,
    options: o,
    events,
    inserted: (jobs) => {
      workingPool?.ready(jobs);
      for (const j of jobs) m.registry.checkHandled(j.queue, j.type);
    },
  });
  const queues = new QueueApi({
    store,
    registry: m.registry,
    clock,
    maxQueues: o.limits.maxQueues,
    maxPageSize: o.limits.maxPageSize,
    wake,
    observe: (p) => p.catch((err: unknown) => {
      m.health.observe(err);
      throw err;
    }),
  });
  return {
    options: o,
    store,
    clock,
    logger,
    nodeId,
    events,
    leases,
    dispatch,
    pool: workingPool,
    ...m,
    schedules: new ScheduleApi(store, clock, (job) => void toNewJobRecord({ ...job }, o, clock.now())),
    queues,
    enqueuer,
    operations: new JobOperations({ store, clock, events, leases, pool: workingPool }),
  };
}
