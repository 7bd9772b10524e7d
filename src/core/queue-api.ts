/**
 * Queues as users manage them: list them with their counts, read and set
 * their cluster-wide flow control, pause and resume them. Settings live in
 * the store, so every node obeys the same limits from its next claim.
 */
import type { QueueSettings, Store } from '../contracts/store.js';
import type { Clock } from './clock.js';
import { mergeSettings, type QueueSettingsInput } from './queue-settings.js';
import { listQueues, type QueuePage } from './queue-view.js';
import type { NodeRegistry } from './services/node-registry.js';

export interface QueueApiDeps {
  store: Store;
  registry: NodeRegistry;
  clock: Clock;
  maxQueues: number;
  maxPageSize: number;
  /** Wakes this node's loops of the queues (a resume or a raised limit may free work). */
  wake: (queues: string[]) => void;
  /** Passes store failures to the health check. */
  observe: <T>(p: Promise<T>) => Promise<T>;
}

export class QueueApi {
  constructor(private readonly d: QueueApiDeps) {}

  /** Queues by name, a page at a time, with counts per status and how many pending jobs no live node handles. */
  list(params: { limit?: number; cursor?: string } = {}): Promise<QueuePage> {
    return this.d.observe(listQueues(this.d.store, this.d.registry, params, this.d.maxPageSize));
  }

  /** The queue's flow control; null for a queue that does not exist. */
  settings(queue: string): Promise<QueueSettings | null> {
    return this.d.observe(this.d.store.queueSettings(queue));
  }

  /**
   * Sets a queue's cluster-wide flow control: concurrency, perKeyConcurrency,
   * rateLimit and perKeyRateLimit ({ max, intervalMs }). Fields left out keep
   * their value; null removes a limit. Registers the queue if it is new.
   */
  async configure(queue: string, settings: QueueSettingsInput): Promise<QueueSettings> {
    const next = mergeSettings((await this.settings(queue)) ?? undefined, settings);
    await this.d.observe(this.d.store.queueConfigure({ name: queue, settings: next, maxQueues: this.d.maxQueues, now: this.d.clock.now() }));
    this.d.wake([queue]);
    return next;
  }

  async pause(queue: string): Promise<void> {
    await this.d.observe(this.d.store.queueSetPaused({ name: queue, paused: true, maxQueues: this.d.maxQueues, now: this.d.clock.now() }));
  }

  async resume(queue: string): Promise<void> {
    await this.d.observe(this.d.store.queueSetPaused({ name: queue, paused: false, maxQueues: this.d.maxQueues, now: this.d.clock.now() }));
    this.d.wake([queue]);
  }
}
