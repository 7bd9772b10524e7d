/**
 * Prometheus metrics of one Jobq (prom-client, a registry of its own).
 *
 * - Job counters come from this node's events (a local subscription: each
 *   node counts what it did; sum across instances in PromQL). So does the
 *   wait (due → start): each `started` event says when its job was due, and
 *   only the node that made the claim sees it locally, so every start is
 *   observed once in the cluster, remote workers' claims included.
 * - Run time comes from the handlers this node runs, timed by a `jobq.onRun`
 *   wrapper (every handler, whenever registered; removed on close).
 * - Queue depth by status is cluster-wide, read from `jobq.queues.list()`
 *   (the store's per-queue counts) at most once per `depthCacheMs`, never a
 *   scan per scrape.
 * - Label values are bounded: at most `maxLabelValues` queue names and as
 *   many types; later ones are counted under `other`. No job ids, ever.
 * - Where one server is several processes (`jobq serve --http-processes`),
 *   `processes` answers for all of them: each metric says how its values
 *   combine (counters and histograms add up; the cluster-wide depth is the
 *   same everywhere, so its maximum).
 */
import client, { type Counter, type Registry } from 'prom-client';
import type { JobEvent, JobEventKind } from '../contracts/events.js';
import { isJobqError } from '../contracts/errors.js';
import { JOB_STATUSES } from '../contracts/job.js';
import type { Subscription } from '../core/events/event-bus.js';
import type { Jobq } from '../core/jobq.js';
import { FastHistogram, type HistogramChild } from './fast-histogram.js';

export interface MetricsOptions {
  /** Registry to use. @defaultValue a new one */
  registry?: Registry;
  /** Distinct queue names (and, separately, job types) used as label values; the rest are `other`. @defaultValue 50 */
  maxLabelValues?: number;
  /** Queue depth is read from the store at most this often. @defaultValue 5_000 */
  depthCacheMs?: number;
  /** Queues whose depth is reported (the first ones by name). @defaultValue 500 */
  maxDepthQueues?: number;
  /** Process metrics (CPU, memory, event loop lag, GC) with prom-client's defaults. @defaultValue true */
  processMetrics?: boolean;
  /** This registry is one process's of several serving together; the exposition text is theirs combined. @defaultValue this process only */
  processes?: ProcessGroupMetrics;
}

/** The metrics of the processes serving together (cli/process-metrics.ts does it over the cluster channel). */
export interface ProcessGroupMetrics {
  /** Called once with this process's registry, which the others may ask for. */
  attach(registry: Registry): void;
  /** Every process's metrics, combined by each metric's aggregator. */
  text(): Promise<string>;
}

export const OTHER_LABEL = 'other';

/** Keeps a label's distinct values bounded. */
export class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }
}

const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];
const RUN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const EVENT_COUNTERS = {
  enqueued: ['jobq_jobs_enqueued_total', 'Jobs enqueued by this node'],
  started: ['jobq_jobs_started_total', 'Attempts started by this node (claims)'],
  completed: ['jobq_jobs_completed_total', 'Jobs completed by this node'],
  failed: ['jobq_jobs_failed_total', 'Jobs failed for good (attempts exhausted or permanent)'],
  retrying: ['jobq_jobs_retried_total', 'Failed attempts put back in line to run again'],
  rescued: ['jobq_jobs_rescued_total', "Jobs whose lease expired, taken back by this node's rescuer"],
  cancelled: ['jobq_jobs_cancelled_total', 'Jobs cancelled through this node'],
} as const satisfies Partial<Record<JobEventKind, readonly [string, string]>>;
type CountedKind = keyof typeof EVENT_COUNTERS;
const COUNTED_KINDS: ReadonlySet<string> = new Set(Object.keys(EVENT_COUNTERS));

export interface JobqMetrics {
  readonly registry: Registry;
  /** Times one HTTP request (route: the pattern, never the raw URL). */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** The exposition text. */
  text(): Promise<string>;
  close(): void;
}

export function createMetrics(jobq: Jobq, options: MetricsOptions = {}): JobqMetrics {
  const registry = options.registry ?? new client.Registry();
  const max = options.maxLabelValues ?? 50;
  const queues = new LabelCap(max);
  const types = new LabelCap(max);
  const depthCacheMs = options.depthCacheMs ?? 5_000;
  const maxDepthQueues = options.maxDepthQueues ?? 500;
  if (options.processMetrics ?? true) {
    client.collectDefaultMetrics({ register: registry, prefix: 'jobq_' });
    // Gauges named like counters (promtool refuses them); the same numbers stay, by type, without the suffix.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(`jobq_${name}`);
  }

  // An event adds one to a plain number here; each counter takes the sums when it is read (its
  // collect), so an event costs two map lookups instead of prom-client hashing its label object.
  const tallies = new Map<CountedKind, Map<string, Map<string, number>>>();
  const tally = (kind: CountedKind, queue: string, type: string): void => {
    let byQueue = tallies.get(kind);
    if (!byQueue) tallies.set(kind, (byQueue = new Map()));
    let byType = byQueue.get(queue);
    if (!byType) byQueue.set(queue, (byType = new Map()));
    byType.set(type, (byType.get(type) ?? 0) + 1);
  };
  const counters = {} as Record<CountedKind, Counter<'queue' | 'type'>>;
  for (const [kind, [name, help]] of Object.entries(EVENT_COUNTERS) as [CountedKind, readonly [string, string]][]) {
    counters[kind] = new client.Counter({
      name,
      help,
      labelNames: ['queue', 'type'],
      registers: [registry],
      collect() {
        for (const [queue, byType] of tallies.get(kind) ?? []) {
          for (const [type, n] of byType) {
            if (n === 0) continue;
            this.inc({ queue, type }, n);
            byType.set(type, 0);
          }
        }
      },
    });
  }
  const leaseLosses = new client.Counter({
    name: 'jobq_lease_losses_total',
    help: 'Leases the workers of this node found lost before they finished (expired and taken back, or the job claimed again); their results were dropped',
    labelNames: ['queue'],
    registers: [registry],
  });
  const storeErrors = new client.Counter({ name: 'jobq_store_errors_total', help: 'Calls that found the store unavailable', registers: [registry] });
  const storeUp = new client.Gauge({
    name: 'jobq_store_up',
    help: '1 while the store answers, 0 while it is failing',
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.set(jobq.health.healthy ? 1 : 0);
    },
  });
  void storeUp;
  const wait = new FastHistogram(
    'jobq_job_wait_seconds',
    'From when a job was due (its run time, or creation) to the start of its attempt, for attempts claimed through this node (its workers and the remote workers it serves)',
    ['queue'],
    WAIT_BUCKETS,
    registry,
  );
  const waitChildren = new Map<string, HistogramChild>();
  const run = new FastHistogram('jobq_job_run_seconds', 'Handler run time of attempts this node ran, by outcome (ok: returned, error: threw)', ['queue', 'type', 'outcome'], RUN_BUCKETS, registry);
  const runChildren = new Map<string, HistogramChild>();
  const running = new client.Gauge({
    name: 'jobq_jobs_running',
    help: 'Handlers running on this node now',
    registers: [registry],
    collect() {
      this.set(jobq.runningJobs);
    },
  });
  void running;
  const http = new FastHistogram('jobq_http_request_duration_seconds', 'HTTP requests by method, route pattern and status code', ['method', 'route', 'status_code'], HTTP_BUCKETS, registry);
  // Bounded: methods × routes of the route table × status codes.
  const httpChildren = new Map<string, HistogramChild>();

  let depthAt = -Infinity;
  let depth: { name: string; paused: boolean; counts: Record<string, number> }[] = [];
  let depthReading: Promise<void> | null = null;
  const readDepth = async () => {
    if (Date.now() - depthAt < depthCacheMs) return;
    depthReading ??= (async () => {
      const out: typeof depth = [];
      let cursor: string | undefined;
      do {
        const page = await jobq.queues.list({ limit: Math.min(500, jobq.options.limits.maxPageSize), ...(cursor !== undefined && { cursor }) });
        out.push(...page.queues);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && out.length < maxDepthQueues);
      depth = out.slice(0, maxDepthQueues);
      depthAt = Date.now();
    })().finally(() => (depthReading = null));
    await depthReading;
  };
  const depthGauge = new client.Gauge({
    name: 'jobq_queue_depth',
    help: 'Jobs per queue and status, cluster-wide (read from the store at most every few seconds; the same on every node: aggregate with max, not sum)',
    labelNames: ['queue', 'status'],
    registers: [registry],
    aggregator: 'max',
    async collect() {
      try {
        await readDepth();
      } catch {
        return; // The store is down: jobq_store_up says so; keep the last values.
      }
      this.reset();
      for (const q of depth) for (const s of JOB_STATUSES) this.set({ queue: q.name, status: s }, q.counts[s] ?? 0);
    },
  });
  void depthGauge;
  const paused = new client.Gauge({
    name: 'jobq_queue_paused',
    help: '1 for a paused queue (cluster-wide, as of the last depth read)',
    labelNames: ['queue'],
    registers: [registry],
    aggregator: 'max',
    async collect() {
      await readDepth().catch(() => {});
      this.reset();
      for (const q of depth) this.set({ queue: q.name }, q.paused ? 1 : 0);
    },
  });
  void paused;

  options.processes?.attach(registry);

  const onEvent = (e: JobEvent) => {
    if (e.kind === 'lease_lost') return void leaseLosses.inc({ queue: queues.value(e.queue) });
    if (!COUNTED_KINDS.has(e.kind)) return;
    const queue = queues.value(e.queue);
    tally(e.kind as CountedKind, queue, types.value(e.type));
    if (e.kind === 'started' && e.dueAt !== undefined) {
      let child = waitChildren.get(queue);
      if (!child) waitChildren.set(queue, (child = wait.child({ queue })));
      child.observe(Math.max(0, (e.at - e.dueAt) / 1000));
    }
  };
  const sub: Subscription = jobq.events.subscribe(onEvent, { cluster: false });

  // Store errors wherever they happen: the health monitor already sees every one.
  const health = jobq.health as { observe(err: unknown): void };
  const observe = health.observe.bind(health);
  health.observe = (err: unknown) => {
    if (isJobqError(err, 'store_unavailable')) storeErrors.inc();
    observe(err);
  };

  // Time every handler this node runs, whenever it was registered.
  const unhook = jobq.onRun((job, runHandler) => {
    const t0 = process.hrtime.bigint();
    const done = (outcome: 'ok' | 'error') => {
      const queue = queues.value(job.queue);
      const type = types.value(job.type);
      const key = `${outcome} ${queue} ${type}`;
      let child = runChildren.get(key);
      if (!child) runChildren.set(key, (child = run.child({ queue, type, outcome })));
      child.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    };
    return runHandler().then(
      (v) => {
        done('ok');
        return v;
      },
      (err: unknown) => {
        done('error');
        throw err;
      },
    );
  });

  return {
    registry,
    observeHttp(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) httpChildren.set(key, (child = http.child({ method, route, status_code: String(status) })));
      child.observe(seconds);
    },
    text: options.processes ? options.processes.text.bind(options.processes) : () => registry.metrics(),
    close() {
      sub.unsubscribe();
      health.observe = observe;
      unhook();
      registry.clear();
    },
  };
}
