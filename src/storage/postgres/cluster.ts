/** Queues, nodes and lease-row leaderships on Postgres (the advisory lock is in leader-lock.ts). */
import type pg from 'pg';
import type { JobStatus } from '../../contracts/job.js';
import { emptyCounts, hasLimits, NO_LIMITS, type LeaderParams, type NodeInfo, type QueueInfo, type QueueListParams, type QueueRegisterParams, type QueueSettings } from '../../contracts/store.js';
import { tooManyQueues } from '../errors.js';
import type { ClusterStatements } from './cluster-sql.js';

export abstract class PgCluster {
  protected abstract readonly csql: ClusterStatements;
  protected abstract query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
  protected abstract transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;

  /** Adds the queues that are new, within maxQueues (checked, then inserted: a race can exceed it by a few). */
  async queueRegister(p: QueueRegisterParams): Promise<void> {
    const { rows } = await this.query<{ name: string }>(this.csql.queueExisting, [p.names]);
    const known = new Set(rows.map((r) => r.name));
    const fresh = p.names.filter((n) => !known.has(n));
    if (fresh.length === 0) return;
    const { rows: count } = await this.query<{ n: number }>(this.csql.queueCount, []);
    if (count[0]!.n + fresh.length > p.maxQueues) throw tooManyQueues(p.maxQueues);
    await this.query(this.csql.queueInsert, [fresh, p.now]);
  }

  async queueSetPaused(p: { name: string; paused: boolean; maxQueues: number; now: number }): Promise<void> {
    await this.queueRegister({ names: [p.name], maxQueues: p.maxQueues, now: p.now });
    await this.query(this.csql.queueSetPaused, [p.name, p.paused]);
    // A resumed queue may hold work: wake every node.
    if (!p.paused) await this.notifyQueue(p.name);
  }

  protected abstract notifyQueue(name: string): Promise<void>;

  async queueList(p: QueueListParams): Promise<QueueInfo[]> {
    const { rows } = await this.query<{ name: string; paused: boolean; settings: string | null }>(this.csql.queuePage, [p.after ?? '', p.limit]);
    if (rows.length === 0) return [];
    const infos = new Map<string, QueueInfo>(rows.map((r) => [r.name, { name: r.name, paused: r.paused, settings: parseSettings(r.settings), counts: emptyCounts(), pendingByType: {} }]));
    const { rows: counts } = await this.query<{ queue: string; status: JobStatus; type: string | null; n: number }>(this.csql.queueCounts, [rows.map((r) => r.name)]);
    for (const r of counts) {
      const q = infos.get(r.queue)!;
      q.counts[r.status] += r.n;
      if (r.status === 'pending' && r.type !== null) q.pendingByType[r.type] = r.n;
    }
    return [...infos.values()];
  }

  async queueConfigure(p: { name: string; settings: QueueSettings; maxQueues: number; now: number }): Promise<void> {
    await this.queueRegister({ names: [p.name], maxQueues: p.maxQueues, now: p.now });
    const limited = hasLimits(p.settings);
    await this.transaction(async (c) => {
      // Under flow control a keyless job must sit in its keyless group (the claim index holds the
      // groups). Inserts compute that from the settings they see: this lock waits for the inserts
      // in flight and holds new ones until the settings commit, so none can slip through with the
      // old view; then the jobs already there join. Writes to jobs wait meanwhile (an admin step).
      if (limited) await c.query(this.csql.lockJobs);
      await c.query(this.csql.queueConfigure, [p.name, limited ? JSON.stringify(p.settings) : null]);
      if (limited) await c.query(this.csql.joinKeyless, [p.name]);
    });
    await this.notifyQueue(p.name);
  }

  async queueSettings(name: string): Promise<QueueSettings | null> {
    const { rows } = await this.query<{ settings: string | null }>(this.csql.queueSettings, [name]);
    return rows[0] ? parseSettings(rows[0].settings) : null;
  }

  async queueNames(): Promise<string[]> {
    return (await this.query<{ name: string }>(this.csql.queueNames, [])).rows.map((r) => r.name);
  }

  async nodeHeartbeat(node: NodeInfo): Promise<void> {
    const info = JSON.stringify({ queues: node.queues, types: node.types, startedAt: node.startedAt, host: node.host, pid: node.pid });
    await this.query(this.csql.nodeUpsert, [node.id, info, node.heartbeatAt]);
    // Nodes silent for a day are gone for good.
    await this.query(this.csql.nodeForget, [node.heartbeatAt - 24 * 3600 * 1000]);
  }

  async nodeList(p: { since: number }): Promise<NodeInfo[]> {
    const { rows } = await this.query<{ id: string; info: string; heartbeat_at: number }>(this.csql.nodeList, [p.since]);
    return rows.map((r) => ({ id: r.id, heartbeatAt: r.heartbeat_at, ...(JSON.parse(r.info) as Omit<NodeInfo, 'id' | 'heartbeatAt'>) }));
  }

  async nodeRemove(id: string): Promise<void> {
    await this.query(this.csql.nodeRemove, [id]);
  }

  async leaderTryAcquire(p: LeaderParams): Promise<boolean> {
    const r = await this.query(this.csql.leaderAcquire, [p.name, p.nodeId, p.now, p.now + p.ttlMs]);
    return r.rowCount === 1;
  }

  async leaderRelease(p: { name: string; nodeId: string }): Promise<void> {
    await this.query(this.csql.leaderRelease, [p.name, p.nodeId]);
  }
}

function parseSettings(text: string | null): QueueSettings {
  return text ? (JSON.parse(text) as QueueSettings) : { ...NO_LIMITS };
}
