/**
 * The memory store's queues, nodes and leaderships. One process, so the
 * node list holds this node alone and leadership is trivially its own; the
 * same calls as on the shared stores keep the core free of kind checks.
 */
import { NO_LIMITS, type LeaderParams, type NodeInfo, type QueueInfo, type QueueListParams, type QueueRegisterParams, type QueueSettings, type Schedule, type ScheduleAdvanceParams, type StatusCounts } from '../../contracts/store.js';
import { tooManyQueues } from '../errors.js';
import { MemSchedules } from './mem-schedules.js';

export interface QueueCounts {
  counts: StatusCounts;
  pendingByType: Record<string, number>;
}

export abstract class MemoryCluster {
  private readonly queues = new Map<string, { paused: boolean; settings: QueueSettings }>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly leaders = new Map<string, { nodeId: string; expiresAt: number }>();
  private readonly schedules = new MemSchedules();
  protected closed = false;

  protected abstract assertOpen(): void;
  protected abstract countsFor(names: readonly string[]): Map<string, QueueCounts>;

  protected isPaused(name: string): boolean {
    return this.queues.get(name)?.paused === true;
  }

  protected settingsOf(name: string): QueueSettings | null {
    return this.queues.get(name)?.settings ?? null;
  }

  async queueConfigure(p: { name: string; settings: QueueSettings; maxQueues: number }): Promise<void> {
    this.assertOpen();
    this.register([p.name], p.maxQueues);
    this.queues.get(p.name)!.settings = structuredClone(p.settings);
  }

  async queueSettings(name: string): Promise<QueueSettings | null> {
    this.assertOpen();
    const s = this.queues.get(name)?.settings;
    return s ? structuredClone(s) : null;
  }

  private register(names: readonly string[], maxQueues: number): void {
    const fresh = names.filter((n) => !this.queues.has(n));
    if (fresh.length === 0) return;
    if (this.queues.size + fresh.length > maxQueues) throw tooManyQueues(maxQueues);
    for (const n of fresh) this.queues.set(n, { paused: false, settings: { ...NO_LIMITS } });
  }

  async queueRegister(p: QueueRegisterParams): Promise<void> {
    this.assertOpen();
    this.register(p.names, p.maxQueues);
  }

  async queueSetPaused(p: { name: string; paused: boolean; maxQueues: number }): Promise<void> {
    this.assertOpen();
    this.register([p.name], p.maxQueues);
    this.queues.get(p.name)!.paused = p.paused;
  }

  async queueList(p: QueueListParams): Promise<QueueInfo[]> {
    this.assertOpen();
    const names = [...this.queues.keys()].filter((n) => p.after === undefined || n > p.after).sort().slice(0, p.limit);
    const counts = this.countsFor(names);
    return names.map((name) => ({ name, paused: this.isPaused(name), settings: structuredClone(this.settingsOf(name)!), ...counts.get(name)! }));
  }

  async queueNames(): Promise<string[]> {
    this.assertOpen();
    return [...this.queues.keys()].sort();
  }

  async nodeHeartbeat(node: NodeInfo): Promise<void> {
    this.assertOpen();
    this.nodes.set(node.id, { ...node, queues: [...node.queues], types: [...node.types] });
  }

  async nodeList(p: { since: number }): Promise<NodeInfo[]> {
    this.assertOpen();
    return [...this.nodes.values()].filter((n) => n.heartbeatAt >= p.since);
  }

  async nodeRemove(id: string): Promise<void> {
    this.nodes.delete(id);
  }

  async leaderTryAcquire(p: LeaderParams): Promise<boolean> {
    this.assertOpen();
    const cur = this.leaders.get(p.name);
    if (cur && cur.nodeId !== p.nodeId && cur.expiresAt > p.now) return false;
    this.leaders.set(p.name, { nodeId: p.nodeId, expiresAt: p.now + p.ttlMs });
    return true;
  }

  async leaderRelease(p: { name: string; nodeId: string }): Promise<void> {
    if (this.leaders.get(p.name)?.nodeId === p.nodeId) this.leaders.delete(p.name);
  }

  async scheduleUpsert(s: Schedule): Promise<void> {
    this.assertOpen();
    this.schedules.upsert(s);
  }

  async scheduleGet(name: string): Promise<Schedule | null> {
    this.assertOpen();
    return this.schedules.get(name);
  }

  async scheduleList(p: { limit: number; after?: string }): Promise<Schedule[]> {
    this.assertOpen();
    return this.schedules.list(p);
  }

  async scheduleRemove(name: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.remove(name);
  }

  async scheduleDue(p: { now: number; limit: number }): Promise<Schedule[]> {
    this.assertOpen();
    return this.schedules.due(p);
  }

  async scheduleAdvance(p: ScheduleAdvanceParams): Promise<boolean> {
    this.assertOpen();
    return this.schedules.advance(p);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
