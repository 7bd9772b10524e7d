/**
 * The live view over HTTP (issue #14): the event stream, /metrics, the data
 * routes the dashboard needs beyond the API (stats, retry every failed job of
 * a queue, delete a queue's finished jobs), and the dashboard itself at `/`.
 * One LiveFeed per app feeds the stream and the charts.
 */
import type { FastifyInstance } from 'fastify';
import client, { type Registry } from 'prom-client';
import { JobqError } from '../../contracts/errors.js';
import type { Jobq } from '../../core/jobq.js';
import { LiveFeed, type LiveFeedOptions } from '../../dashboard/live-feed.js';
import { dashboardAssets } from '../../dashboard/assets.js';
import { createMetrics, type JobqMetrics, type MetricsOptions } from '../../metrics/metrics.js';
import { ALWAYS, queueParams, WITH_BODY } from '../schemas.js';
import { eventRoutes, scoped, type EventStreamOptions, type EventStreamStats } from './events.js';

/** Scopes of these routes (the convention of src/http/auth/index.ts). */
export const LIVE_VIEW_SCOPES = {
  stats: 'jobs:read',
  retryFailed: 'jobs:write',
  deleteFinished: 'jobs:write',
  /** A scrape token reads counts, never payloads. */
  metrics: 'metrics',
  /** The dashboard's HTML, script and styles: public (they hold no data; every call they make is scoped). */
  dashboard: 'public',
} as const;

export interface LiveViewOptions {
  /** The event stream (GET /v1/events) and the dashboard's charts. @defaultValue true */
  events?: boolean | { feed?: LiveFeedOptions; stream?: EventStreamOptions };
  /** GET /metrics (Prometheus). @defaultValue true */
  metrics?: boolean | MetricsOptions;
  /** The web dashboard at `/`. @defaultValue true (needs events) */
  dashboard?: boolean;
}

export interface LiveView {
  feed: LiveFeed | null;
  stream: EventStreamStats | null;
  metrics: JobqMetrics | null;
}

const opt = <T extends object>(v: boolean | T | undefined): T | null => (v === false ? null : v === true || v === undefined ? ({} as T) : v);

export async function liveViewRoutes(app: FastifyInstance, jobq: Jobq, options: LiveViewOptions = {}): Promise<LiveView> {
  const view: LiveView = { feed: null, stream: null, metrics: null };
  const eventsOpt = opt(options.events);
  if (eventsOpt) {
    const feed = (view.feed = new LiveFeed(jobq, eventsOpt.feed));
    feed.start();
    app.addHook('onClose', async () => feed.stop());
    view.stream = eventRoutes(app, feed, eventsOpt.stream);
  }
  const metricsOpt = opt(options.metrics);
  if (metricsOpt) {
    const metrics = (view.metrics = createMetrics(jobq, metricsOpt));
    app.addHook('onClose', async () => metrics.close());
    metricsRoute(app, metrics, view);
  }
  statsRoutes(app, jobq, view);
  if (options.dashboard !== false && view.feed) await dashboardRoutes(app);
  return view;
}

function metricsRoute(app: FastifyInstance, metrics: JobqMetrics, view: LiveView): void {
  const started = Symbol('started');
  type Timed = { [started]?: number };
  // Callback hooks, not async ones: an async hook costs a promise per request on every route.
  app.addHook('onRequest', (req, _reply, done) => {
    (req as unknown as Timed)[started] = performance.now();
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const t0 = (req as unknown as Timed)[started];
    // The route's pattern (bounded), never the raw URL; unknown paths share one label.
    if (t0 !== undefined) metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, (performance.now() - t0) / 1000);
    done();
  });
  const sse = view.stream;
  if (sse) streamMetrics(metrics.registry, sse);
  app.get(
    '/metrics',
    {
      config: scoped({ errors: [...ALWAYS] }, LIVE_VIEW_SCOPES.metrics),
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format 0.0.4); see the README for the list',
        tags: ['system'],
        response: { 200: { description: 'text/plain; version=0.0.4', type: 'string' } },
      },
    },
    async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()),
  );
}

/** The event stream's numbers, in the registry rather than appended to its text: across several HTTP processes they add up like the rest. */
function streamMetrics(registry: Registry, sse: EventStreamStats): void {
  new client.Gauge({
    name: 'jobq_event_stream_clients',
    help: 'Event-stream (SSE) connections open now',
    registers: [registry],
    collect() {
      this.set(sse.connections());
    },
  });
  let counted = 0;
  new client.Counter({
    name: 'jobq_event_stream_dropped_total',
    help: 'Event-stream readers dropped for falling behind',
    registers: [registry],
    collect() {
      this.inc(sse.dropped - counted);
      counted = sse.dropped;
    },
  });
}

function statsRoutes(app: FastifyInstance, jobq: Jobq, view: LiveView): void {
  app.get(
    '/v1/stats',
    {
      config: scoped({ errors: [...ALWAYS] }, LIVE_VIEW_SCOPES.stats),
      schema: {
        operationId: 'getStats',
        summary: "Counts per event kind in buckets over the last hour, and wait (due → start) p50/p99 per queue over each queue's last 1,000 starts: every node's",
        tags: ['events'],
        response: {
          200: {
            type: 'object',
            required: ['history', 'waits', 'feed'],
            properties: {
              history: {
                type: ['object', 'null'],
                properties: {
                  bucketMs: { type: 'integer' },
                  from: { type: 'string', format: 'date-time' },
                  series: { type: 'object', additionalProperties: { type: 'array', items: { type: 'integer' } } },
                },
              },
              waits: {
                type: 'object',
                additionalProperties: { type: 'object', properties: { p50: { type: 'number' }, p99: { type: 'number' }, samples: { type: 'integer' } } },
              },
              feed: {
                type: ['object', 'null'],
                properties: { id: { type: 'string' }, lastEventId: { type: 'string' }, retainEvents: { type: 'integer' }, retainMs: { type: 'integer' }, clients: { type: 'integer' } },
              },
            },
          },
        },
      },
    },
    async () => {
      const h = view.feed?.history();
      const waits: Record<string, unknown> = {};
      const feed = view.feed;
      if (feed) {
        const page = await jobq.queues.list({ limit: Math.min(500, jobq.options.limits.maxPageSize) });
        for (const q of page.queues) {
          const w = feed.waits.quantiles(q.name);
          if (w) waits[q.name] = w;
        }
      }
      return {
        history: h ? { ...h, from: new Date(h.from).toISOString() } : null,
        waits,
        feed: feed
          ? { id: feed.id, lastEventId: feed.eventId(feed.lastSeq), retainEvents: feed.options.retainEvents, retainMs: feed.options.retainMs, clients: feed.clientCount }
          : null,
      };
    },
  );

  app.post<{ Params: { name: string }; Querystring: { limit?: number } }>(
    '/v1/queues/:name/retry-failed',
    {
      bodyLimit: 64 * 1024,
      config: scoped({ errors: [...WITH_BODY] }, LIVE_VIEW_SCOPES.retryFailed),
      schema: {
        operationId: 'retryFailedInQueue',
        summary: 'Put failed jobs of a queue back in line (oldest failures first), up to limit per call',
        tags: ['queues'],
        params: queueParams,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } } },
        response: {
          200: {
            type: 'object',
            required: ['retried', 'more'],
            properties: { retried: { type: 'integer' }, more: { type: 'boolean', description: 'Failed jobs are left: call again' } },
          },
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 1000;
      let retried = 0;
      for (;;) {
        // Always the first page: the jobs just retried have left it.
        const page = await jobq.list({ queue: req.params.name, status: 'failed', limit: Math.min(500, limit - retried) });
        for (const job of page.jobs) {
          try {
            await jobq.retry(job.id);
            retried++;
          } catch (err) {
            // Retried or pruned by someone else meanwhile: not ours to count.
            if (!(err instanceof JobqError && (err.code === 'illegal_transition' || err.code === 'not_found'))) throw err;
          }
        }
        if (page.jobs.length === 0 || retried >= limit) return { retried, more: page.nextCursor !== null || (retried >= limit && page.jobs.length > 0) };
      }
    },
  );

  app.post<{ Params: { name: string } }>(
    '/v1/queues/:name/delete-finished',
    {
      bodyLimit: 64 * 1024,
      config: scoped({ errors: [...WITH_BODY] }, LIVE_VIEW_SCOPES.deleteFinished),
      schema: {
        operationId: 'deleteFinishedInQueue',
        summary: 'Delete every completed, failed and cancelled job of a queue now, whatever the retention',
        tags: ['queues'],
        params: queueParams,
        response: {
          200: {
            type: 'object',
            required: ['deleted', 'byStatus'],
            properties: {
              deleted: { type: 'integer' },
              byStatus: { type: 'object', properties: { completed: { type: 'integer' }, failed: { type: 'integer' }, cancelled: { type: 'integer' } } },
            },
          },
        },
      },
    },
    async (req) => {
      // A retention of 1 ms: everything finished before this instant.
      const byStatus = await jobq.prune({ retention: { completed: 1, failed: 1, cancelled: 1 }, queue: req.params.name });
      return { deleted: byStatus.completed + byStatus.failed + byStatus.cancelled, byStatus };
    },
  );
}

async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = await dashboardAssets();
  const serve = (path: string, file: string) =>
    app.get(path, { config: scoped({}, LIVE_VIEW_SCOPES.dashboard), schema: { hide: true } }, async (req, reply) => {
      const asset = assets.get(file)!;
      if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      const accept = String(req.headers['accept-encoding'] ?? '');
      const [body, encoding] = /\bbr\b/.test(accept) ? [asset.br, 'br'] : /\bgzip\b/.test(accept) ? [asset.gzip, 'gzip'] : [asset.raw, null];
      void reply
        .header('content-type', asset.type)
        .header('etag', asset.etag)
        .header('vary', 'accept-encoding')
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff');
      if (file === 'index.html') void reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'");
      if (encoding) void reply.header('content-encoding', encoding);
      return reply.send(body);
    });
  serve('/', 'index.html');
  serve('/dashboard/', 'index.html');
  for (const file of assets.keys()) if (file !== 'index.html') serve(`/dashboard/${file}`, file);
}
