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

/**
 * Deletes the finished jobs past `retention` (of one queue, or all), in
 * batches, at most `maxBatches` of them; returns how many per status.
 */
export async function pruneFinished(
  store: Store,
  now: number,
  retention: Retention,
  { queue, batchSize = 1000, maxBatches = Infinity }: { queue?: string; batchSize?: number; maxBatches?: number } = {},
): Promise<Record<FinishedStatus, number>> {
  const deleted: Record<FinishedStatus, number> = { completed: 0, failed: 0, cancelled: 0 };
  let budget = maxBatches;
  for (const q of queue === undefined ? await store.queueNames() : [queue]) {
    for (const [status, keepMs] of Object.entries(retention) as [FinishedStatus, number | null][]) {
      if (keepMs === null) continue;
      for (;;) {
        if (budget-- <= 0) return deleted;
        const n = await store.jobPrune({ status, queue: q, finishedBefore: now - keepMs, limit: batchSize });
        deleted[status] += n;
        if (n < batchSize) break;
      }
    }
  }
  return deleted;
}

export function pruner(o: PrunerOptions): PeriodicService {
  const tick = async () => {
    const counts = await pruneFinished(o.store, o.clock.now(), o.retention, { batchSize: o.batchSize ?? 1000, maxBatches: o.maxBatchesPerTick ?? 50 });
    const deleted = counts.completed + counts.failed + counts.cancelled;
    if (deleted > 0) o.logger.info({ deleted }, 'pruned finished jobs past their retention');
  };
  return new PeriodicService({ name: 'pruner', clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, initialDelayMs: Math.min(o.intervalMs, 5000), when: o.isLeader, tick });
}
