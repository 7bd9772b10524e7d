/**
 * What `GET /v1/queues` shows per queue: paused, counts per status, and how
 * many pending jobs no live node working the queue has a handler for (they
 * wait until one comes). Queues are listed by name, a page at a time.
 */
import { JobqError } from '../contracts/errors.js';
import type { QueueSettings, StatusCounts, Store } from '../contracts/store.js';
import type { NodeRegistry } from './services/node-registry.js';

export interface QueueView {
  name: string;
  paused: boolean;
  /** Cluster-wide flow control (null: no limit). */
  settings: QueueSettings;
  counts: StatusCounts;
  /** Pending jobs of types no live node working this queue handles. */
  unhandled: number;
  /** Those types, with their counts. */
  unhandledTypes: Record<string, number>;
}

export interface QueuePage {
  queues: QueueView[];
  nextCursor: string | null;
}

export const DEFAULT_QUEUE_PAGE = 100;

function decode(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('q:') || text.length > 200) throw new JobqError('invalid_request', 'cursor is not one this server issued', { details: { field: 'cursor' } });
  return text.slice(2);
}

export async function listQueues(store: Store, registry: NodeRegistry, params: { limit?: number; cursor?: string }, maxPageSize: number): Promise<QueuePage> {
  const limit = params.limit ?? DEFAULT_QUEUE_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new JobqError('invalid_request', `limit must be an integer from 1 to ${maxPageSize}`, { details: { field: 'limit' } });
  }
  const after = decode(params.cursor);
  const infos = await store.queueList({ limit: limit + 1, ...(after !== undefined && { after }) });
  const page = infos.slice(0, limit);
  const queues = page.map((q) => {
    const handled = registry.handledTypes(q.name);
    const unhandledTypes: Record<string, number> = {};
    let unhandled = 0;
    for (const [type, n] of Object.entries(q.pendingByType)) {
      if (handled.has(type) || n === 0) continue;
      unhandledTypes[type] = n;
      unhandled += n;
    }
    return { name: q.name, paused: q.paused, settings: q.settings, counts: q.counts, unhandled, unhandledTypes };
  });
  const last = page[page.length - 1];
  return { queues, nextCursor: infos.length > limit && last ? Buffer.from(`q:${last.name}`, 'utf8').toString('base64url') : null };
}
