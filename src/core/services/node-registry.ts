/**
 * Announces this node (its queues and the job types it has handlers for) and
 * keeps a fresh view of the others, so a node can tell when a job was
 * enqueued that no running node will ever claim: such a job stays pending,
 * is counted as unhandled in the queue listing, and is warned about once per
 * queue and type.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { NodeInfo, Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import { PeriodicService } from './service.js';

export interface NodeRegistryOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  queues: readonly string[];
  /** The types this node has handlers for (read at each heartbeat: handlers may be registered until start). */
  types(): readonly string[];
  intervalMs: number;
}

export class NodeRegistry {
  readonly service: PeriodicService;
  private nodes: NodeInfo[] = [];
  private loaded = false;
  /** Handled types per queue as of the last refresh of `nodes` (checkHandled runs once per enqueued job). */
  private readonly handledCache = new Map<string, Set<string>>();
  private readonly startedAt: number;
  private readonly warned = new Set<string>();

  constructor(private readonly o: NodeRegistryOptions) {
    this.startedAt = o.clock.now();
    this.service = new PeriodicService({ name: 'node-registry', clock: o.clock, logger: o.logger, intervalMs: o.intervalMs, tick: () => this.tick() });
  }

  /** A node is alive while its heartbeat is younger than three intervals. */
  private get aliveSince(): number {
    return this.o.clock.now() - 3 * this.o.intervalMs;
  }

  private async tick(): Promise<void> {
    const now = this.o.clock.now();
    await this.o.store.nodeHeartbeat({
      id: this.o.nodeId,
      queues: this.o.queues,
      types: this.o.types(),
      startedAt: this.startedAt,
      heartbeatAt: now,
      host: hostname(),
      pid: process.pid,
    });
    await this.refreshNodes();
    this.loaded = true;
  }

  private async refreshNodes(): Promise<void> {
    this.nodes = await this.o.store.nodeList({ since: this.aliveSince });
    this.handledCache.clear();
  }

  /** Live nodes as last seen (refreshed every interval). */
  get liveNodes(): readonly NodeInfo[] {
    const since = this.aliveSince;
    return this.nodes.filter((n) => n.heartbeatAt >= since);
  }

  /** Types that some live node working `queue` handles. */
  handledTypes(queue: string): Set<string> {
    const out = new Set<string>();
    for (const n of this.liveNodes) if (n.queues.includes(queue)) for (const t of n.types) out.add(t);
    return out;
  }

  /**
   * Called after every enqueue, for each job: warns once per queue and type
   * that no live node handles. It reads the handled types as of the last
   * refresh, so the common case is two map lookups and no clock read. A miss
   * is confirmed on a fresh read of the nodes before the warning: a node
   * that started since the last refresh (the primary of `--http-processes`,
   * which starts after its HTTP processes listen; a worker launched just
   * after the server) handles it.
   */
  checkHandled(queue: string, type: string): void {
    if (!this.loaded) return;
    let handled = this.handledCache.get(queue);
    if (!handled) this.handledCache.set(queue, (handled = this.handledTypes(queue)));
    if (handled.has(type)) return;
    const key = `${queue}\u0000${type}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    void this.confirmUnhandled(queue, type, key);
  }

  private async confirmUnhandled(queue: string, type: string, key: string): Promise<void> {
    try {
      await this.refreshNodes();
    } catch {
      return; // the store's health monitor reports it; unsure, say nothing
    }
    if (this.handledTypes(queue).has(type)) {
      this.warned.delete(key); // handled after all: should its node go, a later miss looks again
      return;
    }
    this.o.logger.warn(
      { queue, type },
      `no running node handles type "${type}" in queue "${queue}"; its jobs stay pending until a node with that handler works the queue`,
    );
  }

  async leave(): Promise<void> {
    await this.service.stop();
    await this.o.store.nodeRemove(this.o.nodeId).catch(() => {});
  }
}
