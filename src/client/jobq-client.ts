/**
 * An HTTP client for a running jobq server (the CLI's; usable from any
 * Node 20 program). Give it the same payload map as the server's Jobq,
 * `new JobqClient<{ email: EmailPayload }>({ url })`, and enqueues are
 * checked against it.
 */
import type { DefaultJobTypes, EnqueueInputOf, JobTypes, TypedEnqueueInput } from './typed-input.js';
import { LeaseClient } from './lease-client.js';
import { RemoteWorkerRunner, type RemoteWorker, type RemoteWorkerOptions } from './remote-worker.js';
import { TokenClient } from './token-client.js';
import { Transport } from './transport.js';
import { JobWaiter } from './wait-for.js';
import type { JobJson, JobSummaryJson, JobPage, PruneJson, PruneParams, QueueSettingsJson, ScheduleDefinition, ScheduleJson, FlowJson, FlowAnswerJson, QueuePageJson, ListJobsQuery } from './wire-types.js';

export interface JobqClientOptions {
  /** Base URL of the server. @defaultValue 'http://127.0.0.1:8080' */
  url?: string;
  /** Per-request time limit. @defaultValue 10_000 */
  timeoutMs?: number;
  /** An API token (jobq token create), sent as `Authorization: Bearer …`. @defaultValue none */
  token?: string;
}

export type { JobErrorJson, JobJson, JobSummaryJson, JobPage, PruneJson, PruneParams, QueueJson, RateLimitJson, QueueSettingsJson, ScheduledJobJson, ScheduleDefinition, ScheduleJson, FlowJson, FlowAnswerJson, QueuePageJson, ListJobsQuery } from './wire-types.js';

export class JobqClient<T extends JobTypes = DefaultJobTypes> {
  private readonly http: Transport;
  private readonly waiter: JobWaiter;
  /** The lease protocol as plain calls (claim, extend, finish, complete, fail, progress, release). */
  readonly leases: LeaseClient;
  /** API tokens (admin): create, list, revoke. */
  readonly tokens: TokenClient;

  constructor(options: JobqClientOptions = {}) {
    this.http = new Transport({ url: options.url ?? 'http://127.0.0.1:8080', token: options.token, timeoutMs: options.timeoutMs ?? 10_000 });
    this.waiter = new JobWaiter(this.http);
    this.leases = new LeaseClient(this.http);
    this.tokens = new TokenClient(this.http);
  }

  /**
   * Resolves with the job once it is completed, failed or cancelled; rejects
   * with `timeout` after `timeoutMs`. Listens to the server's event stream
   * when it has one, else reads the job with backoff.
   */
  waitFor(id: string, options: { timeoutMs?: number } = {}): Promise<JobJson> {
    return this.waiter.waitFor(id, options.timeoutMs ?? 60_000);
  }

  /**
   * Runs handlers here for jobs of the server's queues, over the lease
   * protocol: the same `(job, ctx)` handlers as in process. Stops gracefully
   * on SIGTERM/SIGINT; `done` settles once it stopped (rejected when the
   * server refused its token). The token needs the `worker` scope.
   */
  runWorker(options: RemoteWorkerOptions<T>): RemoteWorker {
    return new RemoteWorkerRunner(this.http, this.leases, options as RemoteWorkerOptions);
  }

  /** Enqueues one job; resolves with it once it is committed. */
  enqueue<K extends keyof T & string>(input: TypedEnqueueInput<T, K>): Promise<JobJson<T[K]>> {
    return this.request('POST', '/v1/jobs', input);
  }

  /** Enqueues up to 1,000 jobs in one transaction, all or none. */
  async enqueueMany(inputs: readonly EnqueueInputOf<T>[]): Promise<JobSummaryJson[]> {
    const out = await this.request<{ jobs: JobSummaryJson[] }>('POST', '/v1/jobs', inputs);
    return out.jobs;
  }

  get(id: string): Promise<JobJson> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** One page of jobs; pass `nextCursor` back for the next. */
  list(query: ListJobsQuery = {}): Promise<JobPage> {
    const q = new URLSearchParams();
    if (query.queue !== undefined) q.set('queue', query.queue);
    if (query.status !== undefined) q.set('status', query.status);
    if (query.type !== undefined) q.set('type', query.type);
    if (query.key !== undefined) q.set('key', query.key);
    // The server reads times as ISO 8601; a time it cannot read is sent as given, for its 400 to name.
    const isoTime = (t: Date | number | string) => (typeof t === 'string' ? t : Number.isFinite(new Date(t).getTime()) ? new Date(t).toISOString() : String(t));
    if (query.createdAfter !== undefined) q.set('createdAfter', isoTime(query.createdAfter));
    if (query.createdBefore !== undefined) q.set('createdBefore', isoTime(query.createdBefore));
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.cursor !== undefined) q.set('cursor', query.cursor);
    if (query.include?.length) q.set('include', query.include.join(','));
    const qs = q.toString();
    return this.request('GET', `/v1/jobs${qs ? `?${qs}` : ''}`);
  }

  cancel(id: string): Promise<JobJson> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  retry(id: string): Promise<JobJson> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
  }

  /** Deletes finished jobs past their retention now. */
  prune(params: PruneParams = {}): Promise<PruneJson> {
    return this.request('POST', '/v1/jobs/prune', params);
  }

  queues(query: { limit?: number; cursor?: string } = {}): Promise<QueuePageJson> {
    const q = new URLSearchParams();
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.cursor !== undefined) q.set('cursor', query.cursor);
    const qs = q.toString();
    return this.request('GET', `/v1/queues${qs ? `?${qs}` : ''}`);
  }

  pause(queue: string): Promise<{ name: string; paused: boolean }> {
    return this.request('POST', `/v1/queues/${encodeURIComponent(queue)}/pause`);
  }

  resume(queue: string): Promise<{ name: string; paused: boolean }> {
    return this.request('POST', `/v1/queues/${encodeURIComponent(queue)}/resume`);
  }

  /** Sets a queue's cluster-wide flow control; fields left out keep their value, null removes a limit. */
  configureQueue(queue: string, settings: Partial<QueueSettingsJson>): Promise<{ name: string; settings: QueueSettingsJson }> {
    return this.request('PATCH', `/v1/queues/${encodeURIComponent(queue)}`, settings);
  }

  /** A parent job and its children (and theirs) in one transaction. */
  flow(flow: FlowJson): Promise<FlowAnswerJson> {
    return this.request('POST', '/v1/flows', flow);
  }

  /** Cron schedules on the server: upsert, get, list, remove, pause, resume. */
  readonly schedules = {
    upsert: (name: string, def: ScheduleDefinition): Promise<{ schedule: ScheduleJson; changed: boolean }> => this.request('PUT', `/v1/schedules/${encodeURIComponent(name)}`, def),
    get: (name: string): Promise<ScheduleJson> => this.request('GET', `/v1/schedules/${encodeURIComponent(name)}`),
    list: (query: { limit?: number; cursor?: string } = {}): Promise<{ schedules: ScheduleJson[]; nextCursor: string | null }> => {
      const q = new URLSearchParams();
      if (query.limit !== undefined) q.set('limit', String(query.limit));
      if (query.cursor !== undefined) q.set('cursor', query.cursor);
      const qs = q.toString();
      return this.request('GET', `/v1/schedules${qs ? `?${qs}` : ''}`);
    },
    remove: async (name: string): Promise<void> => {
      await this.request('DELETE', `/v1/schedules/${encodeURIComponent(name)}`);
    },
    pause: (name: string): Promise<ScheduleJson> => this.request('POST', `/v1/schedules/${encodeURIComponent(name)}/pause`),
    resume: (name: string): Promise<ScheduleJson> => this.request('POST', `/v1/schedules/${encodeURIComponent(name)}/resume`),
  };

  /** Any error answer becomes a JobqError with the server's code and message (and `details.status`). */
  private request<R>(method: string, path: string, body?: unknown): Promise<R> {
    return this.http.request(method, path, body);
  }
}
