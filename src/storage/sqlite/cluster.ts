/** Queues, nodes and leaderships on SQLite. */
import { joinKeylessGroup } from './flow.js';
import type { JobStatus } from '../../contracts/job.js';
import { emptyCounts, hasLimits, NO_LIMITS, type LeaderParams, type NodeInfo, type QueueInfo, type QueueListParams, type QueueRegisterParams, type QueueSettings } from '../../contracts/store.js';
import { tooManyQueues } from '../errors.js';
import * as SQL from './cluster-sql.js';
import type { SqliteConn } from './conn.js';

/** Inside a write transaction: adds the queues that are new, within maxQueues. */
function register(c: SqliteConn, names: readonly string[], maxQueues: number, now: number): void {
  const fresh = names.filter((name) => !c.stmt(SQL.QUEUE_EXISTS).get({ name }));
  if (fresh.length === 0) return;
  const { n } = c.stmt(SQL.QUEUE_COUNT).get() as { n: number };
  if (n + fresh.length > maxQueues) throw tooManyQueues(maxQueues);
  for (const name of fresh) c.stmt(SQL.QUEUE_INSERT).run({ name, now });
}

export async function queueRegister(c: SqliteConn, p: QueueRegisterParams): Promise<void> {
  // Cheap when every queue is known (the common case): no write transaction, no fsync.
  const known = c.read(() => p.names.every((name) => c.stmt(SQL.QUEUE_EXISTS).get({ name })));
  if (!known) await c.durable(() => register(c, p.names, p.maxQueues, p.now));
}

export async function queueSetPaused(c: SqliteConn, p: { name: string; paused: boolean; maxQueues: number; now: number }): Promise<void> {
  await c.durable(() => {
    register(c, [p.name], p.maxQueues, p.now);
    c.stmt(SQL.QUEUE_SET_PAUSED).run({ name: p.name, paused: p.paused ? 1 : 0 });
  });
}

export function queueList(c: SqliteConn, p: QueueListParams): QueueInfo[] {
  return c.read(() => {
    const rows = c.stmt(SQL.QUEUE_PAGE).all({ after: p.after ?? '', limit: p.limit }) as { name: string; paused: number; settings: string | null }[];
    if (rows.length === 0) return [];
    const infos = new Map<string, QueueInfo>(
      rows.map((r) => [r.name, { name: r.name, paused: r.paused === 1, settings: parseSettings(r.settings), counts: emptyCounts(), pendingByType: {} }]),
    );
    const counts = c.stmt(SQL.QUEUE_COUNTS).all({ names: JSON.stringify(rows.map((r) => r.name)) }) as { queue: string; status: JobStatus; type: string | null; n: number }[];
    for (const r of counts) {
      const q = infos.get(r.queue)!;
      q.counts[r.status] += r.n;
      if (r.status === 'pending' && r.type !== null) q.pendingByType[r.type] = r.n;
    }
    return [...infos.values()];
  });
}

function parseSettings(text: string | null): QueueSettings {
  return text ? (JSON.parse(text) as QueueSettings) : { ...NO_LIMITS };
}

export async function queueConfigure(c: SqliteConn, p: { name: string; settings: QueueSettings; maxQueues: number; now: number }): Promise<void> {
  await c.durable(() => {
    register(c, [p.name], p.maxQueues, p.now);
    c.stmt(SQL.QUEUE_CONFIGURE).run({ name: p.name, settings: hasLimits(p.settings) ? JSON.stringify(p.settings) : null });
    // Once per change, over the queue's jobs: inserts from now on see the settings in their own transaction.
    if (hasLimits(p.settings)) joinKeylessGroup(c, p.name);
  });
}

export function queueSettings(c: SqliteConn, name: string): QueueSettings | null {
  const row = c.read(() => c.stmt(SQL.QUEUE_SETTINGS).get({ name }) as { settings: string | null } | undefined);
  return row ? parseSettings(row.settings) : null;
}

export function queueNames(c: SqliteConn): string[] {
  return c.read(() => (c.stmt(SQL.QUEUE_NAMES).all() as { name: string }[]).map((r) => r.name));
}

export function nodeHeartbeat(c: SqliteConn, node: NodeInfo): void {
  const info = JSON.stringify({ queues: node.queues, types: node.types, startedAt: node.startedAt, host: node.host, pid: node.pid });
  c.write(() => {
    c.stmt(SQL.NODE_UPSERT).run({ id: node.id, info, heartbeatAt: node.heartbeatAt });
    // Nodes silent for a day are gone for good.
    c.stmt(SQL.NODE_FORGET).run({ before: node.heartbeatAt - 24 * 3600 * 1000 });
  });
}

export function nodeList(c: SqliteConn, since: number): NodeInfo[] {
  return c.read(() =>
    (c.stmt(SQL.NODE_LIST).all({ since }) as { id: string; info: string; heartbeat_at: number }[]).map((r) => ({
      id: r.id,
      heartbeatAt: r.heartbeat_at,
      ...(JSON.parse(r.info) as Omit<NodeInfo, 'id' | 'heartbeatAt'>),
    })),
  );
}

export function nodeRemove(c: SqliteConn, id: string): void {
  c.write(() => c.stmt(SQL.NODE_REMOVE).run({ id }));
}

export function leaderTryAcquire(c: SqliteConn, p: LeaderParams): boolean {
  return c.write(() => c.stmt(SQL.LEADER_ACQUIRE).run({ name: p.name, nodeId: p.nodeId, now: p.now, expiresAt: p.now + p.ttlMs }).changes === 1);
}

export function leaderRelease(c: SqliteConn, p: { name: string; nodeId: string }): void {
  c.write(() => c.stmt(SQL.LEADER_RELEASE).run(p));
}
