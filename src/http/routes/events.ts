/**
 * GET /v1/events: job events as Server-Sent Events (wire format: docs/api.md#events).
 *
 * Every connection is fed by the app's one LiveFeed. Writes are coalesced:
 * a connection's frames of one event-loop turn go out in one write. A reader
 * that falls behind is dropped once `maxBufferedBytes` wait in its socket
 * (the server never holds more than that per connection); it may reconnect
 * with Last-Event-ID and resume from the feed's retention. A comment every
 * `keepAliveMs` keeps proxies from closing idle streams. On close (shutdown)
 * each stream gets `event: end` and is ended, so the server never waits on it.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import { JOB_EVENT_KINDS, type JobEvent, type JobEventFilter, type JobEventKind } from '../../contracts/events.js';
import { JobqError } from '../../contracts/errors.js';
import { type FeedClient, type FeedEntry, type LiveFeed } from '../../dashboard/live-feed.js';
import { ALWAYS } from '../schemas.js';

/** The scope a token needs for these routes (the auth layer of issue #13 reads `config.scope`). */
export const EVENTS_SCOPE = 'jobs:read';

/** A route's config with the scope it needs (src/http/auth/index.ts); typed loosely until that module's `config.scope` declaration is in every build. */
export function scoped(config: FastifyContextConfig, scope: string): FastifyContextConfig {
  return Object.assign(config, { scope });
}

export interface EventStreamOptions {
  /** Comment sent on idle streams. @defaultValue 15_000 */
  keepAliveMs?: number;
  /** Interval of `stats` frames for `?stats=1` clients. @defaultValue 1_000 */
  statsIntervalMs?: number;
  /** Bytes waiting in one connection's socket before it is dropped. @defaultValue 1 MiB */
  maxBufferedBytes?: number;
  /** Reconnection delay suggested to EventSource clients (`retry:`). @defaultValue 2_000 */
  retryMs?: number;
}

export const EVENT_STREAM_DEFAULTS = Object.freeze({ keepAliveMs: 15_000, statsIntervalMs: 1_000, maxBufferedBytes: 1024 * 1024, retryMs: 2_000 });

interface EventsQuery {
  queue?: string;
  type?: string;
  jobId?: string;
  kinds?: string;
  stats?: string;
  events?: string;
  lastEventId?: string;
}

/** The JSON of one event on the wire: times as ISO 8601, like the rest of the API. */
export function eventJson(e: JobEvent): string {
  return JSON.stringify({
    kind: e.kind,
    jobId: e.jobId,
    queue: e.queue,
    type: e.type,
    attempt: e.attempt,
    status: e.status,
    at: new Date(e.at).toISOString(),
    ...(e.runAt !== undefined && { runAt: new Date(e.runAt).toISOString() }),
    ...(e.dueAt !== undefined && { dueAt: new Date(e.dueAt).toISOString() }),
    ...(e.progress !== undefined && { progress: e.progress }),
    ...(e.error !== undefined && { error: e.error }),
  });
}

class SseConnection implements FeedClient {
  private pending = '';
  private scheduled = false;
  closed = false;
  detach: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    readonly filter: JobEventFilter,
    private readonly feed: LiveFeed,
    private readonly maxBufferedBytes: number,
    private readonly onDropped: () => void,
    /** A token limited to queues sees only their events (null: every queue). */
    readonly allowed: ReadonlySet<string> | null,
  ) {}

  send(entry: FeedEntry): void {
    if (this.allowed && !this.allowed.has(entry.event.queue)) return;
    entry.frame ??= `id: ${this.feed.eventId(entry.seq)}\ndata: ${eventJson(entry.event)}\n\n`;
    this.write(entry.frame);
  }

  write(frame: string): void {
    if (this.closed) return;
    this.pending += frame;
    // Bounded even within one turn: a burst larger than the limit drops the reader too.
    if (this.pending.length > this.maxBufferedBytes) return this.drop();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    this.res.write(chunk);
    if (this.res.writableLength > this.maxBufferedBytes) this.drop();
  }

  /** A reader too slow to keep up: its socket is destroyed rather than buffered for. */
  private drop(): void {
    this.onDropped();
    this.close(null);
    this.res.destroy();
  }

  close(endFrame: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    if (endFrame !== null && !this.res.destroyed) {
      this.res.end(this.pending + endFrame);
    }
    this.pending = '';
  }
}

function parseFilter(q: EventsQuery): JobEventFilter {
  const filter: JobEventFilter = {};
  if (q.queue !== undefined) filter.queue = q.queue;
  if (q.type !== undefined) filter.type = q.type;
  if (q.jobId !== undefined) filter.jobId = q.jobId;
  if (q.kinds !== undefined) {
    const kinds = q.kinds.split(',').map((k) => k.trim()).filter(Boolean);
    const bad = kinds.find((k) => !(JOB_EVENT_KINDS as readonly string[]).includes(k));
    if (bad !== undefined) throw new JobqError('invalid_request', `kinds: unknown event kind "${bad}"; expected some of ${JOB_EVENT_KINDS.join(', ')}`, { details: { field: 'kinds' } });
    filter.kinds = kinds as JobEventKind[];
  }
  return filter;
}

const flag = (v: string | undefined, dflt: boolean) => (v === undefined ? dflt : v === '1' || v === 'true');

/** The queues the caller's token is limited to (issue #13's principal on the request), null for every queue. */
export function tokenQueues(req: unknown): ReadonlySet<string> | null {
  const queues = (req as { auth?: { token?: { queues?: readonly string[] | null } | null } }).auth?.token?.queues;
  return queues ? new Set(queues) : null;
}

/** Counters of the stream, for /metrics and tests. */
export interface EventStreamStats {
  connections: () => number;
  dropped: number;
}

export function eventRoutes(app: FastifyInstance, feed: LiveFeed, options: EventStreamOptions = {}): EventStreamStats {
  const o = { ...EVENT_STREAM_DEFAULTS, ...options };
  const open = new Set<SseConnection>();
  const statsClients = new Set<SseConnection>();
  const stats: EventStreamStats = { connections: () => open.size, dropped: 0 };

  const keepAlive = setInterval(() => {
    for (const c of open) c.write(': keep-alive\n\n');
  }, o.keepAliveMs);
  keepAlive.unref();
  let statsTimer: NodeJS.Timeout | null = null;
  const statsTick = () => {
    const at = new Date().toISOString();
    const queues = feed.takeTick();
    const frame = `event: stats\ndata: ${JSON.stringify({ at, intervalMs: o.statsIntervalMs, queues })}\n\n`;
    for (const c of statsClients) {
      if (!c.allowed) c.write(frame);
      else c.write(`event: stats\ndata: ${JSON.stringify({ at, intervalMs: o.statsIntervalMs, queues: Object.fromEntries(Object.entries(queues).filter(([q]) => c.allowed!.has(q))) })}\n\n`);
    }
  };

  // Before the server waits for connections to finish: end every stream.
  app.addHook('preClose', async () => {
    clearInterval(keepAlive);
    if (statsTimer) clearInterval(statsTimer);
    const end = `event: end\ndata: ${JSON.stringify({ reason: 'shutting_down' })}\n\n`;
    for (const c of [...open]) c.close(end);
  });

  const str = { type: 'string', minLength: 1, maxLength: 256 } as const;
  app.get<{ Querystring: EventsQuery }>(
    '/v1/events',
    {
      config: scoped({ errors: [...ALWAYS, 400] }, EVENTS_SCOPE),
      schema: {
        operationId: 'streamEvents',
        summary: 'Job events as Server-Sent Events, filtered by queue, type, job id and kinds; resumable with Last-Event-ID',
        description: `Each job event is one SSE message: \`id\` (pass it back as Last-Event-ID to resume) and \`data\`, the event as JSON. The last ${feed.options.retainEvents} events, none older than ${feed.options.retainMs / 1000} s, are kept for resume; a Last-Event-ID outside them (or from another server) gets \`event: gap\` first. \`stats=1\` adds \`event: stats\` every ${o.statsIntervalMs} ms (counts per queue); \`events=0\` leaves the job events out. A comment every ${o.keepAliveMs / 1000} s keeps the stream open; \`event: end\` comes before the server closes it on shutdown. See docs/api.md.`,
        tags: ['events'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            queue: str,
            type: str,
            jobId: str,
            kinds: { type: 'string', maxLength: 512, description: `Comma-separated: ${JOB_EVENT_KINDS.join(', ')}` },
            stats: { type: 'string', enum: ['0', '1', 'true', 'false'] },
            events: { type: 'string', enum: ['0', '1', 'true', 'false'] },
            lastEventId: { ...str, description: 'For clients that cannot set the Last-Event-ID header' },
          },
        },
        response: { 200: { description: 'text/event-stream', type: 'string' } },
      },
    },
    async (req, reply) => {
      const filter = parseFilter(req.query);
      const wantEvents = flag(req.query.events, true);
      const wantStats = flag(req.query.stats, false);
      const header = req.headers['last-event-id'];
      const lastEventId = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies (nginx) must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.socket?.setNoDelay(true);
      const conn = new SseConnection(res, filter, feed, o.maxBufferedBytes, () => stats.dropped++, tokenQueues(req));
      open.add(conn);
      const cleanup = () => {
        conn.close(null);
        open.delete(conn);
        statsClients.delete(conn);
        if (statsClients.size === 0 && statsTimer) {
          clearInterval(statsTimer);
          statsTimer = null;
        }
      };
      res.on('close', cleanup);

      conn.write(`retry: ${o.retryMs}\n: connected to ${feed.id}\n\n`);
      if (wantEvents) {
        if (lastEventId !== undefined && lastEventId !== '') {
          const missed = feed.since(lastEventId, filter);
          if (missed === null) {
            conn.write(`event: gap\ndata: ${JSON.stringify({ lastEventId, reason: 'events since that id are no longer kept here; read current state, then follow the stream' })}\n\n`);
          } else for (const e of missed) conn.send(e);
        }
        conn.detach = feed.attach(conn);
      }
      if (wantStats) {
        statsClients.add(conn);
        if (!statsTimer) {
          feed.takeTick();
          statsTimer = setInterval(statsTick, o.statsIntervalMs);
          statsTimer.unref();
        }
      }
    },
  );
  return stats;
}
