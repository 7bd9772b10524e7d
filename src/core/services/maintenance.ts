/**
 * The node-wide services every Jobq runs, even on a node that works no
 * queues: store health, the node registry, leadership, the rescuer (every
 * node: fenced), the pruner (the leader only).
 */
import type { Logger } from 'pino';
import type { Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { RetryDelay } from '../lifecycle.js';
import type { ResolvedOptions } from '../options.js';
import type { EnqueueInput } from '../enqueue-input.js';
import { scheduler } from '../schedules/scheduler.js';
import { dependencySweeper } from './dependency-sweeper.js';
import { Leadership } from './leadership.js';
import { NodeRegistry } from './node-registry.js';
import { pruner } from './pruner.js';
import { rescuer } from './rescuer.js';
import type { Service } from './service.js';
import { StoreHealth } from './store-health.js';

/** How often the leader looks for due schedule slots. */
export const SCHEDULER_INTERVAL_MS = 1000;

export interface MaintenanceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  options: ResolvedOptions;
  nodeId: string;
  retryDelay: RetryDelay;
  /** The queues this node works and the types it handles (read at each heartbeat). */
  queues: readonly string[];
  types(): readonly string[];
  /** The worker side, when this node has one. */
  extendOwnLeases(): Promise<void>;
  wake(queues: readonly string[]): void;
  /** How the scheduler enqueues a slot's job. */
  enqueue(inputs: EnqueueInput[]): Promise<{ id: string }[]>;
}

export interface Maintenance {
  health: StoreHealth;
  registry: NodeRegistry;
  leadership: Leadership;
  /** In start order; stopped in reverse, the registry last (the node leaves the cluster once idle). */
  services: Service[];
}

export function maintenance(d: MaintenanceDeps): Maintenance {
  const { store, clock, logger, options: o } = d;
  const health = new StoreHealth(store, clock, logger);
  const registry = new NodeRegistry({ store, clock, logger, nodeId: d.nodeId, queues: d.queues, types: d.types, intervalMs: o.nodeHeartbeatMs });
  const leadership = new Leadership({ store, clock, logger, nodeId: d.nodeId, name: 'maintenance', intervalMs: o.nodeHeartbeatMs });
  const services: Service[] = [
    health,
    registry.service,
    leadership,
    rescuer({ store, clock, logger, events: d.events, intervalMs: o.rescueIntervalMs, retryDelay: d.retryDelay, extendOwnLeases: d.extendOwnLeases, rescued: d.wake }),
    pruner({ store, clock, logger, intervalMs: o.pruneIntervalMs, retention: o.retention, isLeader: () => leadership.isLeader }),
  ];
  services.push(scheduler({ store, clock, logger, intervalMs: SCHEDULER_INTERVAL_MS, isLeader: () => leadership.isLeader, enqueue: d.enqueue }));
  const sweeper = dependencySweeper({ store, clock, logger, events: d.events, intervalMs: o.rescueIntervalMs, isLeader: () => leadership.isLeader, ready: d.wake });
  if (sweeper) services.push(sweeper);
  return { health, registry, leadership, services };
}
