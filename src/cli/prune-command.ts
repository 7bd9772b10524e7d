/**
 * `jobq prune`: deletes finished jobs past their retention now, the rule the
 * leader's pruner applies every minute, with the retention flags as given.
 * It opens the store directly (like migrate), so it works on a SQLite file or
 * a Postgres database whether or not a server is running.
 */
import type { Logger } from 'pino';
import type { FinishedStatus } from '../contracts/job.js';
import type { Store } from '../contracts/store.js';
import { EXIT } from './exit-codes.js';
import { formatDuration } from './duration.js';
import { print, table } from './format.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import type { ServerSettings } from './settings.js';

const BATCH = 1000;

export async function pruneJobs(store: Store, retention: Record<FinishedStatus, number | null>, now: number): Promise<Record<FinishedStatus, number>> {
  const deleted: Record<FinishedStatus, number> = { completed: 0, failed: 0, cancelled: 0 };
  for (const queue of await store.queueNames()) {
    for (const [status, keepMs] of Object.entries(retention) as [FinishedStatus, number | null][]) {
      if (keepMs === null) continue;
      for (;;) {
        const n = await store.jobPrune({ status, queue, finishedBefore: now - keepMs, limit: BATCH });
        deleted[status] += n;
        if (n < BATCH) break;
      }
    }
  }
  return deleted;
}

export async function pruneCommand(settings: ServerSettings, flags: { json?: boolean }): Promise<number> {
  const { logger } = createLogger(settings.logLevel);
  const store = await openStore(settings, logger as Logger);
  const retention = { completed: settings.retainCompleted, failed: settings.retainFailed, cancelled: settings.retainCancelled };
  try {
    const deleted = await pruneJobs(store, retention, Date.now());
    const total = deleted.completed + deleted.failed + deleted.cancelled;
    print(!!flags.json, { deleted: total, byStatus: deleted }, () =>
      [
        `deleted ${total} finished job${total === 1 ? '' : 's'}`,
        table(
          ['status', 'kept for', 'deleted'],
          (Object.keys(deleted) as FinishedStatus[]).map((s) => [s, formatDuration(retention[s]), String(deleted[s])]),
        ),
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
