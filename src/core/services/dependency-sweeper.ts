/**
 * Repairs waiting jobs whose dependencies all ended but which were left
 * waiting: on Postgres a failure's dependents move right after the failing
 * statement (a crash in between, or a dependency that finished while its
 * dependent was being enqueued on another node, can leave one behind). The
 * leader sweeps every few seconds; stores that move dependents atomically
 * have nothing to sweep.
 */
import type { Logger } from 'pino';
import type { Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import { dependentEvents } from '../leases/lease-api.js';
import { PeriodicService } from './service.js';

export function dependencySweeper(o: {
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  intervalMs: number;
  isLeader(): boolean;
  ready(queues: readonly string[]): void;
}): PeriodicService | null {
  const sweep = o.store.jobSweepDependencies?.bind(o.store);
  if (!sweep) return null;
  return new PeriodicService({
    name: 'dependency-sweeper',
    clock: o.clock,
    logger: o.logger,
    intervalMs: o.intervalMs,
    when: o.isLeader,
    tick: async () => {
      const now = o.clock.now();
      const changes = await sweep({ now, limit: 1000 });
      if (changes.length === 0) return;
      o.logger.warn({ count: changes.length }, 'moved waiting jobs whose dependencies had all ended');
      o.events.emit(dependentEvents({ id: '', queue: '', type: '', attempts: 0, dependents: changes }, now));
      o.ready([...new Set(changes.map((c) => c.queue))]);
    },
  });
}
