/**
 * What crosses processes on one SQLite file: wake-ups and events. Another
 * process's commit changes `PRAGMA data_version` (reading it costs no I/O),
 * looked at when a datagram announces a commit that made jobs claimable
 * (wake-socket.ts) and, as a safety net for a lost datagram or a producer
 * that does not know this listener yet, every `intervalMs`; watchers are
 * woken when it moved. Events go through a small table, written only while
 * some other process subscribes (a subscriber keeps a row with an expiry),
 * read by subscribers after each change they notice, and trimmed after a
 * minute. No datagram announces events, so a process following other
 * processes' events looks every couple of milliseconds while it does.
 *
 * The look used to run every 2 ms in any watching process: an idle worker
 * took 4.2-4.8 % of a core for it (422-462 wake-ups a second).
 */
import type Database from 'better-sqlite3';
import type { JobEvent } from '../../contracts/events.js';
import * as SQL from './cluster-sql.js';
import type { SqliteConn } from './conn.js';
import { WakeSocket } from './wake-socket.js';

const SUBSCRIBER_TTL_MS = 10_000;
const SUBSCRIBER_REFRESH_MS = 3_000;
const FLAG_REFRESH_MS = 1_000;
const EVENT_RETENTION_MS = 60_000;
/** How often a process following other processes' events looks for them. */
const EVENT_POLL_MS = 2;

export class ChangeFeed {
  private readonly watchers = new Set<(queues?: readonly string[]) => void>();
  private readonly eventSubscribers = new Set<(events: readonly JobEvent[]) => void>();
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private version: Database.Statement | null = null;
  private lastVersion: unknown = null;
  private lastEventSeq = 0;
  private subscribedAs: string | null = null;
  /** Per asking node: whether another node subscribes, and when that was checked. */
  private readonly others = new Map<string, { yes: boolean; at: number }>();
  private lastTrimAt = 0;
  private readonly wake: WakeSocket;

  constructor(
    private readonly c: SqliteConn,
    private readonly intervalMs: number,
  ) {
    this.wake = new WakeSocket(c);
  }

  watch(onChange: (queues?: readonly string[]) => void): () => void {
    this.watchers.add(onChange);
    this.pollAsNeeded();
    // Other processes' enqueues wake us by datagram at once; the data_version poll stays as the fallback.
    this.wake.listen((queues) => this.datagram(queues));
    return () => {
      this.watchers.delete(onChange);
      this.pollAsNeeded();
    };
  }

  /** The poll's interval: the safety net's, or the events' while this process follows them. */
  private pollMs(): number {
    return this.eventSubscribers.size > 0 ? Math.min(EVENT_POLL_MS, this.intervalMs) : this.intervalMs;
  }

  /** Polls at the interval needed now (pollMs), or not at all when nothing in this process watches or follows events. */
  private pollAsNeeded(): void {
    if (this.watchers.size === 0 && this.eventSubscribers.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const ms = this.pollMs();
    if (this.timer && this.timerMs === ms) return;
    if (this.timer) clearInterval(this.timer);
    else {
      this.version ??= this.c.db.prepare('PRAGMA data_version').pluck();
      this.lastVersion = this.version.get();
    }
    this.timerMs = ms;
    this.timer = setInterval(() => this.look(), ms);
    this.timer.unref();
  }

  /**
   * Whether another process committed since the last look; if so, wakes every
   * watcher and reads the events. Returns null when the database could not be read.
   */
  private look(): boolean | null {
    if (this.c.closed || !this.version) return null;
    let v: unknown;
    try {
      v = this.version.get();
    } catch {
      return null; // the store's health monitor reports database failures
    }
    if (v === this.lastVersion) return false;
    this.lastVersion = v;
    for (const w of this.watchers) w();
    if (this.eventSubscribers.size > 0) this.readEvents();
    return true;
  }

  /**
   * A datagram says another process committed jobs of these queues. It is
   * sent after the commit, so the look the poll would take a moment later
   * is taken now: it wakes every watcher, and the poll then finds nothing new
   * (waking only the named queues, the poll woke them again for the same
   * commit: an empty claim, a write transaction, for every job). When the
   * look finds nothing new, the last look came after this commit and every
   * watcher was woken then.
   */
  private datagram(queues?: readonly string[]): void {
    if (this.look() !== null) return;
    for (const w of this.watchers) w(queues);
  }

  /** Jobs of these queues were committed and may be claimed: wake the other processes watching this file. */
  notify(queues: readonly string[]): void {
    this.wake.notify(queues);
  }

  /** Whether another process subscribes; asked on every publish, so cached for a second. */
  othersSubscribing(nodeId: string): boolean {
    const now = Date.now();
    let seen = this.others.get(nodeId);
    if (!seen || now - seen.at >= FLAG_REFRESH_MS) {
      let yes = false;
      try {
        yes = this.c.read(() => this.c.stmt(SQL.OTHER_SUBSCRIBERS).get({ nodeId, now }) !== undefined);
      } catch {
        // The health monitor reports database failures; the feed just stays quiet.
      }
      this.others.set(nodeId, (seen = { yes, at: now }));
    }
    return seen.yes;
  }

  publish(nodeId: string, events: readonly JobEvent[]): void {
    if (!this.othersSubscribing(nodeId) || this.c.closed) return;
    const at = Date.now();
    try {
      this.c.write(() => {
        this.c.stmt(SQL.EVENT_INSERT).run({ nodeId, at, body: JSON.stringify(events) });
        if (at - this.lastTrimAt > 5000) {
          this.lastTrimAt = at;
          this.c.stmt(SQL.EVENTS_TRIM).run({ before: at - EVENT_RETENTION_MS });
        }
      });
    } catch {
      // Best effort: the feed is for watching, never part of a job's fate.
    }
  }

  subscribe(nodeId: string, onEvents: (events: readonly JobEvent[]) => void): () => void {
    if (this.eventSubscribers.size === 0) {
      this.subscribedAs = nodeId;
      this.lastEventSeq = this.c.read(() => (this.c.stmt(SQL.EVENTS_LAST).get() as { seq: number }).seq);
      this.announce();
      this.refreshTimer = setInterval(() => this.announce(), SUBSCRIBER_REFRESH_MS);
      this.refreshTimer.unref();
    }
    this.eventSubscribers.add(onEvents);
    this.pollAsNeeded();
    return () => {
      this.eventSubscribers.delete(onEvents);
      if (this.eventSubscribers.size === 0) {
        if (this.refreshTimer) clearInterval(this.refreshTimer);
        this.refreshTimer = null;
        const id = this.subscribedAs;
        this.subscribedAs = null;
        if (id && !this.c.closed) {
          try {
            this.c.write(() => this.c.stmt(SQL.SUBSCRIBER_REMOVE).run({ nodeId: id }));
          } catch {
            // The row expires on its own.
          }
        }
      }
      this.pollAsNeeded();
    };
  }

  private announce(): void {
    if (!this.subscribedAs || this.c.closed) return;
    try {
      this.c.write(() => this.c.stmt(SQL.SUBSCRIBER_UPSERT).run({ nodeId: this.subscribedAs, expiresAt: Date.now() + SUBSCRIBER_TTL_MS }));
    } catch {
      // Retried at the next refresh.
    }
  }

  private readEvents(): void {
    if (!this.subscribedAs) return;
    let rows: { seq: number; body: string }[];
    try {
      rows = this.c.read(() => this.c.stmt(SQL.EVENTS_AFTER).all({ after: this.lastEventSeq, nodeId: this.subscribedAs }) as { seq: number; body: string }[]);
    } catch {
      return;
    }
    for (const r of rows) {
      this.lastEventSeq = r.seq;
      const events = JSON.parse(r.body) as JobEvent[];
      for (const s of this.eventSubscribers) s(events);
    }
  }

  close(): void {
    this.wake.close();
    if (this.timer) clearInterval(this.timer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.timer = this.refreshTimer = null;
  }
}
