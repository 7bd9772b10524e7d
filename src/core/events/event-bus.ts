/**
 * The in-process event bus: every transition this node makes is emitted here
 * once, after the store confirmed it. Subscribers are called synchronously
 * in emit order, so per job they see events in the order they happened here.
 * With no subscriber, emitting costs one length check: events never slow the
 * hot path of a node nobody watches.
 *
 * Cluster scope: while at least one subscriber asks for other nodes' events,
 * the bus holds a subscription on the store (which then makes other nodes
 * publish), and this node publishes its own batches.
 */
import { eventMatches, type JobEvent, type JobEventFilter } from '../../contracts/events.js';
import type { Store } from '../../contracts/store.js';

export interface Subscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  filter?: JobEventFilter;
  /** Also other processes' events, when the store can carry them. @defaultValue true */
  cluster?: boolean;
}

interface Subscriber {
  fn: (event: JobEvent) => void;
  filter: JobEventFilter | undefined;
  cluster: boolean;
}

/** How the bus reaches other processes; absent for a store that is not shared. */
export interface ClusterLink {
  /** True while some other process subscribes (publishing is wasted work otherwise). */
  readonly active: boolean;
  publish(events: readonly JobEvent[]): void;
  subscribe(onEvents: (events: readonly JobEvent[]) => void): () => void;
}

/** The link through a shared store's event feed, when it has one. */
export function storeEventLink(store: Store, nodeId: string): ClusterLink | null {
  if (!store.publishEvents || !store.subscribeEvents) return null;
  return {
    get active() {
      return store.remoteSubscribers?.(nodeId) ?? true;
    },
    publish: (events) => store.publishEvents!(nodeId, events),
    subscribe: (fn) => store.subscribeEvents!(nodeId, fn),
  };
}

export class EventBus {
  private subscribers: Subscriber[] = [];
  /** Jobs being enqueued by this node: their later events wait until `enqueued` is out (see hold). */
  private held: Map<string, JobEvent[] | null> | null = null;
  private clusterSubscribers = 0;
  private unlinkCluster: (() => void) | null = null;

  constructor(private readonly link: ClusterLink | null = null) {}

  /** Whether anyone would receive an event now: callers skip building events otherwise. */
  get wanted(): boolean {
    return this.subscribers.length > 0 || (this.link !== null && this.link.active);
  }

  /** Emits a batch of this node's events. */
  emit(events: readonly JobEvent[]): void {
    if (events.length === 0) return;
    const held = this.held;
    if (held) {
      const now: JobEvent[] = [];
      for (const e of events) {
        const wait = held.get(e.jobId);
        if (wait) wait.push(e);
        else if (wait === null) held.set(e.jobId, [e]);
        else now.push(e);
      }
      if (now.length === 0) return;
      events = now;
    }
    if (this.link?.active) this.link.publish(events);
    this.deliver(events, false);
  }

  /**
   * Holds back events of jobs whose insert is committing. A worker may claim
   * a job in the instant between its commit and the enqueuer hearing back; its
   * `started` then waits here until `release` emits `enqueued` first, so every
   * subscriber sees one job's events in order (measured: 10 of 200 jobs came
   * out of order on Postgres without this).
   */
  hold(ids: readonly string[]): void {
    this.held ??= new Map();
    // A list only for a job that has events to wait (rare): a bulk enqueue holds 1,000 ids at once.
    for (const id of ids) this.held.set(id, null);
  }

  /** Emits `first` (the enqueued events), then whatever was held for those jobs. */
  release(ids: readonly string[], first: readonly JobEvent[]): void {
    const held = this.held;
    const later: JobEvent[] = [];
    if (held) {
      for (const id of ids) {
        const wait = held.get(id);
        if (wait) later.push(...wait);
        held.delete(id);
      }
      if (held.size === 0) this.held = null;
    }
    this.emit(first);
    this.emit(later);
  }

  private deliver(events: readonly JobEvent[], remote: boolean): void {
    const subs = this.subscribers;
    if (subs.length === 0) return;
    for (const e of events) {
      for (const s of subs) {
        if (remote && !s.cluster) continue;
        if (!eventMatches(e, s.filter)) continue;
        try {
          s.fn(e);
        } catch {
          // A subscriber's bug must not break the transition that emitted, nor the other subscribers.
        }
      }
    }
  }

  get subscriberCount(): number {
    return this.subscribers.length;
  }

  subscribe(fn: (event: JobEvent) => void, options: SubscribeOptions = {}): Subscription {
    const sub: Subscriber = { fn, filter: options.filter, cluster: options.cluster ?? true };
    // Copy on write: emit() iterates a snapshot, so (un)subscribing from inside a callback is safe.
    this.subscribers = [...this.subscribers, sub];
    if (sub.cluster && this.link && this.clusterSubscribers++ === 0) {
      this.unlinkCluster = this.link.subscribe((events) => this.deliver(events, true));
    }
    let active = true;
    return {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.subscribers = this.subscribers.filter((s) => s !== sub);
        if (sub.cluster && this.link && --this.clusterSubscribers === 0) {
          this.unlinkCluster?.();
          this.unlinkCluster = null;
        }
      },
    };
  }

  /**
   * Events as an async iterator. Buffers at most `maxBuffered` events for a
   * slow reader, then ends the iteration with an error rather than grow.
   */
  iterate(options: SubscribeOptions & { maxBuffered?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<JobEvent> {
    const max = options.maxBuffered ?? 10_000;
    const buffer: JobEvent[] = [];
    let wake: (() => void) | null = null;
    let failure: Error | null = null;
    let done = false;
    const sub = this.subscribe((e) => {
      if (buffer.length >= max) {
        failure = new Error(`event iterator fell ${max} events behind; ended`);
        sub.unsubscribe();
      } else buffer.push(e);
      wake?.();
    }, options);
    const finish = () => {
      done = true;
      sub.unsubscribe();
      wake?.();
    };
    options.signal?.addEventListener('abort', finish, { once: true });
    const iterator: AsyncIterableIterator<JobEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        for (;;) {
          if (buffer.length > 0) return { value: buffer.shift()!, done: false };
          if (failure) throw failure;
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      },
      return: async () => {
        finish();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  /** Stops delivering other nodes' events (on close). */
  close(): void {
    this.unlinkCluster?.();
    this.unlinkCluster = null;
    this.subscribers = [];
    this.clusterSubscribers = 0;
  }
}
