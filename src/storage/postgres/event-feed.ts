/**
 * Events across Postgres nodes: a node publishes each batch of its events as
 * NOTIFY payloads on the schema's event channel (one notification per batch,
 * split only past Postgres's 8,000-byte payload limit), and only while some
 * other node subscribes — subscribers keep a row with an expiry, and
 * publishers check for one at most once a second. Delivery is best effort:
 * a node that crashes between a commit and its NOTIFY loses those events.
 */
import type pg from 'pg';
import type { JobEvent } from '../../contracts/events.js';
import type { ClusterStatements } from './cluster-sql.js';
import type { Listener } from './listener.js';

const MAX_PAYLOAD_BYTES = 7900;
const SUBSCRIBER_TTL_MS = 10_000;
const SUBSCRIBER_REFRESH_MS = 3_000;
const FLAG_REFRESH_MS = 1_000;

interface Envelope {
  n: string;
  e: JobEvent[];
}

export class PgEventFeed {
  private readonly subscribers = new Set<(events: readonly JobEvent[]) => void>();
  private subscribedAs: string | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Per asking node: whether another node subscribes, refreshed once a second. */
  private readonly others = new Map<string, { yes: boolean; timer: NodeJS.Timeout }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly sql: ClusterStatements,
    private readonly channel: string,
    private readonly listener: () => Listener | null,
    private readonly closed: () => boolean,
  ) {}

  /** Cached; the first call starts a once-a-second refresh. */
  othersSubscribing(nodeId: string): boolean {
    let entry = this.others.get(nodeId);
    if (!entry) {
      const refresh = () => {
        if (this.closed()) return;
        this.pool.query<{ yes: boolean }>(this.sql.otherSubscribers, [nodeId, Date.now()]).then(
          (r) => (entry!.yes = r.rows[0]?.yes === true),
          () => {},
        );
      };
      entry = { yes: false, timer: setInterval(refresh, FLAG_REFRESH_MS) };
      entry.timer.unref();
      this.others.set(nodeId, entry);
      refresh();
    }
    return entry.yes;
  }

  /**
   * Events wait here while a NOTIFY is in flight and go out together in the
   * next one: one statement at a time keeps this node's events in order (two
   * pool connections could commit their NOTIFYs the other way round).
   */
  private outbox: JobEvent[] = [];
  private sending = false;

  publish(nodeId: string, events: readonly JobEvent[]): void {
    if (!this.othersSubscribing(nodeId) || this.closed() || events.length === 0) return;
    this.outbox.push(...events);
    if (!this.sending) void this.send(nodeId);
  }

  private async send(nodeId: string): Promise<void> {
    this.sending = true;
    while (this.outbox.length > 0 && !this.closed()) {
      const events = this.outbox;
      this.outbox = [];
      await this.pool.query(`SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, [this.channel, envelopes(nodeId, events)]).catch(() => {
        // Best effort: the feed is for watching, never part of a job's fate.
      });
    }
    this.sending = false;
  }

  subscribe(nodeId: string, onEvents: (events: readonly JobEvent[]) => void): () => void {
    if (this.subscribers.size === 0) {
      this.subscribedAs = nodeId;
      this.announce();
      this.refreshTimer = setInterval(() => this.announce(), SUBSCRIBER_REFRESH_MS);
      this.refreshTimer.unref();
      this.listener()?.add(this.channel, (payload) => this.deliver(payload));
    }
    this.subscribers.add(onEvents);
    return () => {
      this.subscribers.delete(onEvents);
      if (this.subscribers.size > 0) return;
      this.listener()?.remove(this.channel);
      if (this.refreshTimer) clearInterval(this.refreshTimer);
      this.refreshTimer = null;
      const id = this.subscribedAs;
      this.subscribedAs = null;
      if (id && !this.closed()) this.pool.query(this.sql.subscriberRemove, [id]).catch(() => {});
    };
  }

  private deliver(payload: string | undefined): void {
    if (!payload) return;
    let env: Envelope;
    try {
      env = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    if (env.n === this.subscribedAs || !Array.isArray(env.e)) return;
    for (const s of this.subscribers) s(env.e);
  }

  private announce(): void {
    if (!this.subscribedAs || this.closed()) return;
    this.pool.query(this.sql.subscriberUpsert, [this.subscribedAs, Date.now() + SUBSCRIBER_TTL_MS]).catch(() => {});
  }

  close(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    for (const e of this.others.values()) clearInterval(e.timer);
    this.others.clear();
  }
}

/** A batch as NOTIFY payloads, split only past Postgres's 8,000-byte limit. */
function envelopes(nodeId: string, events: readonly JobEvent[]): string[] {
  const payloads: string[] = [];
  let batch: JobEvent[] = [];
  let size = 0;
  for (const e of events) {
    const bytes = Buffer.byteLength(JSON.stringify(e)) + 1;
    if (batch.length > 0 && size + bytes > MAX_PAYLOAD_BYTES - 64) {
      payloads.push(JSON.stringify({ n: nodeId, e: batch } satisfies Envelope));
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += bytes;
  }
  payloads.push(JSON.stringify({ n: nodeId, e: batch } satisfies Envelope));
  return payloads;
}
