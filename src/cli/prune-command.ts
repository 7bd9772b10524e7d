/**
 * `jobq prune`: deletes finished jobs past their retention now, the rule the
 * leader applies every minute. By default it opens the store itself (like
 * migrate), so it works whether or not a server runs; with --url it asks a
 * running server (POST /v1/jobs/prune), sending only the retention flags
 * given, so the server's own retention holds for the rest.
 */
import type { FinishedStatus } from '../contracts/job.js';
import { Jobq } from '../core/jobq.js';
import { EXIT } from './exit-codes.js';
import { formatDuration } from './duration.js';
import { print, table } from './format.js';
import { reach, serverClient } from './client-commands.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import type { ServerSettings } from './settings.js';

type Retention = Record<FinishedStatus, number | null>;
type Deleted = Record<FinishedStatus, number>;

export interface PruneFlags {
  json?: boolean;
  /** Ask this server instead of opening the store. */
  url?: string;
  /** An admin token, with url. */
  token?: string;
  /** The retention statuses whose flag or variable was given (the rest are defaults). */
  given: readonly FinishedStatus[];
}

function report(flags: PruneFlags, deleted: Deleted, kept: (s: FinishedStatus) => string): void {
  const total = deleted.completed + deleted.failed + deleted.cancelled;
  print(!!flags.json, { deleted: total, byStatus: deleted }, () =>
    [
      `deleted ${total} finished job${total === 1 ? '' : 's'}`,
      table(
        ['status', 'kept for', 'deleted'],
        (Object.keys(deleted) as FinishedStatus[]).map((s) => [s, kept(s), String(deleted[s])]),
      ),
    ].join('\n'),
  );
}

export async function pruneCommand(settings: ServerSettings, flags: PruneFlags): Promise<number> {
  const retention: Retention = { completed: settings.retainCompleted, failed: settings.retainFailed, cancelled: settings.retainCancelled };
  if (flags.url !== undefined) {
    const url = flags.url;
    const client = serverClient(url, flags.token);
    const given = Object.fromEntries(flags.given.map((s) => [s, retention[s]]));
    const answer = await reach(url, () => client.prune(flags.given.length > 0 ? { retention: given } : {}));
    report(flags, answer.byStatus, (s) => (flags.given.includes(s) ? formatDuration(retention[s]) : "the server's"));
    return EXIT.ok;
  }
  const { logger } = createLogger(settings.logLevel);
  const jobq = new Jobq({ store: await openStore(settings, logger), queues: {}, retention, logger });
  try {
    report(flags, await jobq.prune(), (s) => formatDuration(retention[s]));
    return EXIT.ok;
  } finally {
    await jobq.close();
  }
}
