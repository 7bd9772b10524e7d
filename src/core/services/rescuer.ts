/**
 * Takes back jobs whose lease expired (their worker died or stalled): back in
 * line with backoff, the attempt spent (the job did start), or failed when
 * attempts are exhausted. Safe on every node: each finish is fenced by the
 * expired lease's token, so two rescuers never both apply. Before looking,
 * it extends this node's own leases, so a node that just came out of a long
 * stall (a blocked event loop) never rescues jobs it is still running.
 */
import type { Logger } from 'pino';
import type { Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import { dependentEvents, event } from '../leases/lease-api.js';
import { rescueOutcome, type RetryDelay } from '../lifecycle.js';
import { PeriodicService } from './service.js';

export interface RescuerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  intervalMs: number;
  retryDelay: RetryDelay;
  /** Extends this node's running leases first. */
  extendOwnLeases(): Promise<void>;
  /** Rescued jobs are back in line: wake the loops. */
  rescued(queues: readonly string[]): void;
  batchSize?: number;
}

export function rescuer(o: RescuerOptions): PeriodicService {
  const tick = async () => {
    await o.extendOwnLeases();
    const now = o.clock.now();
    const expired = await o.store.jobExpiredLeases({ now, limit: o.batchSize ?? 1000 });
    if (expired.length === 0) return;
    const outcomes = new Map(expired.map((l) => [l.id, rescueOutcome(l, now, o.retryDelay)]));
    const applied = await o.store.jobFinishMany({ finishes: expired.map((l) => ({ id: l.id, leaseToken: l.leaseToken, outcome: outcomes.get(l.id)! })), now });
    const events = applied.map((ref) => {
      const outcome = outcomes.get(ref.id)!;
      const status = outcome.kind === 'retry' ? outcome.status : 'failed';
      o.logger.warn({ jobId: ref.id, queue: ref.queue, type: ref.type, attempt: ref.attempts, status, err: outcome.kind === 'completed' || outcome.kind === 'throttled' ? undefined : outcome.error.message }, 'lease expired: the worker stopped heartbeating; job taken back');
      return event('rescued', ref, status, now, outcome.kind === 'retry' ? { runAt: outcome.runAt, error: outcome.error.message } : { error: outcome.kind === 'failed' ? outcome.error.message : '' });
    });
    o.events.emit([...events, ...applied.flatMap((ref) => dependentEvents(ref, now))]);
    o.rescued([...new Set(applied.flatMap((r) => [r.queue, ...(r.dependents ?? []).map((d) => d.queue)]))]);
  };
  return new PeriodicService({ name: 'rescuer', clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, tick });
}
