/**
 * The live view's engine: one cluster-wide subscription to the event bus per
 * HTTP app, shared by every event-stream client, the dashboard and `jobq top`.
 *
 * - **Retention for resume**: the last `retainEvents` events (and none older
 *   than `retainMs`) stay in a ring, each with an id `<feed>-<seq>`, so a
 *   client that reconnects with `Last-Event-ID` gets what it missed. An id from
 *   another feed (a restart, another node) or older than the ring is a gap.
 *   The ring records while clients are attached and for `retainMs` after the
 *   last one left: no one else can resume.
 * - **Fan-out by index**: clients are filed under their most selective filter
 *   (job id, then queue, then type), so an event costs the clients that may
 *   want it, not every client (1,000 clients each watching one job cost one
 *   map lookup per event).
 * - **Counts**: per queue since the last tick (the `stats` stream), and totals
 *   in 10-second buckets over the last hour (the dashboard's charts).
 * - **Waits**: due → start of the last 1,000 starts per queue, every node's
 *   (each `started` event says when its job was due), for the p50/p99 of the
 *   dashboard and `jobq top`.
 * Memory is bounded: the ring by count, counts and waits by `maxQueues` queues.
 */
import { eventMatches, type JobEvent, type JobEventFilter, type JobEventKind } from '../contracts/events.js';
import type { Subscription } from '../core/events/event-bus.js';
import type { Jobq } from '../core/jobq.js';
import { RecentWaits } from './recent-waits.js';

export interface LiveFeedOptions {
  /** Events kept for resume. @defaultValue 10_000 */
  retainEvents?: number;
  /** Oldest event kept for resume. @defaultValue 300_000 (5 minutes) */
  retainMs?: number;
  /** Queues counted separately; the rest are summed under `other`. @defaultValue 200 */
  maxQueues?: number;
  /** Width of a history bucket. @defaultValue 10_000 */
  bucketMs?: number;
  /** History buckets kept. @defaultValue 360 (an hour of 10 s) */
  buckets?: number;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

export const FEED_DEFAULTS = Object.freeze({ retainEvents: 10_000, retainMs: 300_000, maxQueues: 200, bucketMs: 10_000, buckets: 360 });

/** The kinds counted in stats and history. */
export const COUNTED_KINDS = ['enqueued', 'started', 'completed', 'failed', 'retrying', 'cancelled', 'rescued'] as const satisfies readonly JobEventKind[];
export type CountedKind = (typeof COUNTED_KINDS)[number];
const COUNTED: ReadonlySet<string> = new Set(COUNTED_KINDS);
export type KindCounts = Record<CountedKind, number>;

export const OTHER_QUEUES = 'other';

export function zeroCounts(): KindCounts {
  return { enqueued: 0, started: 0, completed: 0, failed: 0, retrying: 0, cancelled: 0, rescued: 0 };
}

export interface FeedEntry {
  seq: number;
  event: JobEvent;
  /** When the feed got it (retention is by this). */
  receivedAt: number;
  /** The SSE frame, built once for all clients that get it. */
  frame: string | null;
}

/** Someone receiving events: an SSE connection. */
export interface FeedClient {
  filter: JobEventFilter;
  send(entry: FeedEntry): void;
}

export interface History {
  bucketMs: number;
  /** Start of the first bucket (epoch ms); buckets run to now. */
  from: number;
  series: Record<CountedKind, number[]>;
}

type Bucket = Map<string, Set<FeedClient>>;

export class LiveFeed {
  /** This feed's identity: ids it issued start with it. */
  readonly id: string;
  /** Recent waits per queue, from every node's starts. */
  readonly waits: RecentWaits;
  private readonly o: Required<Omit<LiveFeedOptions, 'now'>>;
  private readonly now: () => number;
  // The ring in three arrays, slot = seq % retainEvents: an event costs no wrapper object
  // unless a client receives it (most events on a busy node are never delivered to anyone).
  private readonly ringEvents: (JobEvent | undefined)[];
  private readonly ringSeq: Float64Array;
  private readonly ringAt: Float64Array;
  private seq = 0;
  /**
   * Until when events go into the ring: while a client is attached, and for
   * retainMs after the last one left (its reconnect resumes). Before any
   * client, nobody can resume, and a busy node would keep 10,000 events alive
   * only to promote them into the old generation.
   */
  private recordUntil = 0;
  private readonly byJob: Bucket = new Map();
  private readonly byQueue: Bucket = new Map();
  private readonly byType: Bucket = new Map();
  private readonly unfiltered = new Set<FeedClient>();
  private clients = 0;
  private tick = new Map<string, KindCounts>();
  private readonly hist: Record<CountedKind, number[]>;
  private histStart: number;
  private sub: Subscription | null = null;

  constructor(private readonly jobq: Jobq, options: LiveFeedOptions = {}) {
    this.o = {
      retainEvents: options.retainEvents ?? FEED_DEFAULTS.retainEvents,
      retainMs: options.retainMs ?? FEED_DEFAULTS.retainMs,
      maxQueues: options.maxQueues ?? FEED_DEFAULTS.maxQueues,
      bucketMs: options.bucketMs ?? FEED_DEFAULTS.bucketMs,
      buckets: options.buckets ?? FEED_DEFAULTS.buckets,
    };
    this.now = options.now ?? Date.now;
    this.id = Math.floor(this.now()).toString(36);
    this.ringEvents = new Array<JobEvent | undefined>(this.o.retainEvents);
    this.ringSeq = new Float64Array(this.o.retainEvents);
    this.ringAt = new Float64Array(this.o.retainEvents);
    this.waits = new RecentWaits(1000, this.o.maxQueues);
    this.hist = Object.fromEntries(COUNTED_KINDS.map((k) => [k, new Array<number>(this.o.buckets).fill(0)])) as Record<CountedKind, number[]>;
    this.histStart = this.bucketStart(this.now()) - (this.o.buckets - 1) * this.o.bucketMs;
  }

  get options(): Readonly<Required<Omit<LiveFeedOptions, 'now'>>> {
    return this.o;
  }

  /** Subscribes to every node's events (the store carries other nodes' when it is shared). */
  start(): void {
    this.sub ??= this.jobq.events.subscribe((e) => this.push(e), { cluster: true });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  get clientCount(): number {
    return this.clients;
  }

  /** Files a client under its most selective filter; returns its detach. */
  attach(client: FeedClient): () => void {
    const f = client.filter;
    const [bucket, key] = f.jobId !== undefined ? [this.byJob, f.jobId] : f.queue !== undefined ? [this.byQueue, f.queue] : f.type !== undefined ? [this.byType, f.type] : [null, ''];
    let set = bucket ? bucket.get(key) : this.unfiltered;
    if (!set) bucket!.set(key, (set = new Set()));
    set.add(client);
    this.clients++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      set.delete(client);
      if (--this.clients === 0) this.recordUntil = this.now() + this.o.retainMs;
      if (bucket && set.size === 0) bucket.delete(key);
    };
  }

  private push(e: JobEvent): void {
    const seq = ++this.seq;
    const now = this.now();
    // An event left out is, to a later resume, one it cannot tell (since() answers a gap).
    if (this.clients > 0 || now <= this.recordUntil) {
      const slot = seq % this.o.retainEvents;
      this.ringEvents[slot] = e;
      this.ringSeq[slot] = seq;
      this.ringAt[slot] = now;
    }
    this.count(e, now);
    // Events of a node that predates dueAt carry none: no sample rather than a wrong one.
    if (e.kind === 'started' && e.dueAt !== undefined) this.waits.add(e.queue, Math.max(0, (e.at - e.dueAt) / 1000));
    if (this.clients === 0) return;
    const entry: FeedEntry = { seq, event: e, receivedAt: now, frame: null };
    this.deliver(this.unfiltered, entry);
    this.deliver(this.byJob.get(e.jobId), entry);
    this.deliver(this.byQueue.get(e.queue), entry);
    this.deliver(this.byType.get(e.type), entry);
  }

  private deliver(set: Set<FeedClient> | undefined, entry: FeedEntry): void {
    if (!set) return;
    for (const c of set) if (eventMatches(entry.event, c.filter)) c.send(entry);
  }

  /** The event id clients see. */
  eventId(seq: number): string {
    return `${this.id}-${seq}`;
  }

  /**
   * What a client that last saw `lastEventId` missed, matching its filter;
   * null when that cannot be told (another feed's id, or older than what is kept).
   */
  since(lastEventId: string, filter: JobEventFilter): FeedEntry[] | null {
    const m = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId.trim());
    if (!m || m[1] !== this.id) return null;
    const last = Number(m[2]);
    if (!Number.isSafeInteger(last) || last > this.seq) return null;
    const oldestKept = this.oldestSeq();
    if (last < oldestKept - 1) return null;
    const out: FeedEntry[] = [];
    for (let s = last + 1; s <= this.seq; s++) {
      const slot = s % this.o.retainEvents;
      // Not recorded (no client then, and none had left within retainMs): a gap, never a silent skip.
      if (this.ringSeq[slot] !== s) return null;
      const e = this.ringEvents[slot]!;
      if (eventMatches(e, filter)) out.push({ seq: s, event: e, receivedAt: this.ringAt[slot]!, frame: null });
    }
    return out;
  }

  /** The oldest seq still kept (by count and by age). */
  private oldestSeq(): number {
    let s = Math.max(1, this.seq - this.o.retainEvents + 1);
    const cutoff = this.now() - this.o.retainMs;
    while (s <= this.seq) {
      const slot = s % this.o.retainEvents;
      if (this.ringSeq[slot] === s && this.ringAt[slot]! >= cutoff) break;
      s++;
    }
    return s;
  }

  get lastSeq(): number {
    return this.seq;
  }

  private bucketStart(t: number): number {
    return t - (t % this.o.bucketMs);
  }

  /** Moves the history window forward to now, zeroing buckets that scroll in. */
  private roll(now: number): void {
    const want = this.bucketStart(now) - (this.o.buckets - 1) * this.o.bucketMs;
    const shift = Math.round((want - this.histStart) / this.o.bucketMs);
    if (shift <= 0) return;
    for (const k of COUNTED_KINDS) {
      const arr = this.hist[k];
      if (shift >= arr.length) arr.fill(0);
      else {
        arr.copyWithin(0, shift);
        arr.fill(0, arr.length - shift);
      }
    }
    this.histStart = want;
  }

  private count(e: JobEvent, now: number): void {
    if (!COUNTED.has(e.kind)) return;
    const kind = e.kind as CountedKind;
    this.roll(now);
    this.hist[kind][this.hist[kind].length - 1]!++;
    let c = this.tick.get(e.queue);
    if (!c) {
      const key = this.tick.size < this.o.maxQueues ? e.queue : OTHER_QUEUES;
      c = this.tick.get(key);
      if (!c) this.tick.set(key, (c = zeroCounts()));
    }
    c[kind]++;
  }

  /** Counts per queue since the previous call (one call per stats tick, shared by all stats clients). */
  takeTick(): Record<string, KindCounts> {
    const out = Object.fromEntries(this.tick);
    this.tick = new Map();
    return out;
  }

  /** Totals per kind in buckets over the last hour (oldest first). */
  history(): History {
    this.roll(this.now());
    return {
      bucketMs: this.o.bucketMs,
      from: this.histStart,
      series: Object.fromEntries(COUNTED_KINDS.map((k) => [k, [...this.hist[k]]])) as Record<CountedKind, number[]>,
    };
  }
}
