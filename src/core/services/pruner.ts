/**
 * Deletes finished jobs past their retention (completed 7 days, failed and
 * cancelled 30 days by default; `forever` keeps them). Runs on the leader
 * only, a bounded number of batches per queue and status per tick, so a
 * large backlog is worked off over several ticks without long pauses.
 */
import type { Logger } from 'pino';
import type { FinishedStatus } from '../../contracts/job.js';
import type { Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import { PeriodicService } from './service.js';

/** Retention per finished status in ms; null keeps forever. */
export type Retention = Readonly<Record<FinishedStatus, number | null>>;

export interface PrunerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  retention: Retention;
  isLeader(): boolean;
  batchSize?: number;
  maxBatchesPerTick?: number;
}

export function pruner(o: PrunerOptions): PeriodicService {
  const batch = o.batchSize ?? 1000;
  const tick = async () => {
    const now = o.clock.now();
    let deleted = 0;
    let budget = o.maxBatchesPerTick ?? 50;
    for (const queue of await o.store.queueNames()) {
      for (const [status, keepMs] of Object.entries(o.retention) as [FinishedStatus, number | null][]) {
        if (keepMs === null) continue;
        for (;;) {
          if (budget-- <= 0) break;
          const n = await o.store.jobPrune({ status, queue, finishedBefore: now - keepMs, limit: batch });
          deleted += n;
          if (n < batch) break;
        }
      }
    }
    if (deleted > 0) o.logger.info({ deleted }, 'pruned finished jobs past their retention');
  };
  return new PeriodicService({ name: 'pruner', clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, initialDelayMs: Math.min(o.intervalMs, 5000), when: o.isLeader, tick });
}
