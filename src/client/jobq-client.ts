/**
 * An HTTP client for a running jobq server (the CLI's; usable from any
 * Node 20 program). Give it the same payload map as the server's Jobq,
 * `new JobqClient<{ email: EmailPayload }>({ url })`, and enqueues are
 * checked against it.
 */
import { JobqError, type ErrorCode } from '../contracts/errors.js';
import type { JobStatus } from '../contracts/job.js';
import type { DefaultJobTypes, EnqueueInputOf, JobTypes, TypedEnqueueInput } from './typed-input.js';

export interface JobqClientOptions {
  /** Base URL of the server. @defaultValue 'http://127.0.0.1:8080' */
  url?: string;
  /** Per-request time limit. @defaultValue 10_000 */
  timeoutMs?: number;
}

/** A stored error of one attempt. */
export interface JobErrorJson {
  attempt: number;
  message: string;
  stack?: string;
  at: string | null;
}

/** A job as the HTTP API returns it (times as ISO 8601 strings). */
export interface JobJson<Payload = unknown> {
  id: string;
  queue: string;
  type: string;
  /** Left out of listings unless asked for. */
  payload?: Payload;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number | null;
  runAt: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string | null;
  /** Left out of listings unless asked for. */
  result?: unknown;
  errors: JobErrorJson[];
  progress: number | null;
  leaseExpiresAt: string | null;
}

/** The short form of each job in a batch enqueue's answer. */
export interface JobSummaryJson {
  id: string;
  queue: string;
  type: string;
  status: JobStatus;
  runAt: string | null;
}

export interface JobPage {
  jobs: JobJson[];
  /** Pass back as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** What a prune deleted. */
export interface PruneJson {
  deleted: number;
  byStatus: { completed: number; failed: number; cancelled: number };
}

export interface PruneParams {
  /** Milliseconds each finished status is kept (null: forever); a status left out keeps the server's retention. */
  retention?: Partial<Record<'completed' | 'failed' | 'cancelled', number | null>>;
  /** Only this queue. */
  queue?: string;
}

export interface QueueJson {
  name: string;
  paused: boolean;
  counts: Partial<Record<JobStatus, number>>;
  /** Pending jobs of types no live node working this queue handles. */
  unhandled: number;
  unhandledTypes?: Record<string, number>;
}

export interface QueuePageJson {
  queues: QueueJson[];
  nextCursor: string | null;
}

export interface ListJobsQuery {
  queue?: string;
  status?: JobStatus;
  /** 1..500. @defaultValue 50 */
  limit?: number;
  cursor?: string;
  /** Heavy fields to include (left out by default). */
  include?: readonly ('payload' | 'result')[];
}

export class JobqClient<T extends JobTypes = DefaultJobTypes> {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(options: JobqClientOptions = {}) {
    this.base = (options.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
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

  /** Any error answer becomes a JobqError with the server's code and message (and `details.status`). */
  private async request<R>(method: string, path: string, body?: unknown): Promise<R> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, init);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: ErrorCode; message?: string } } | undefined)?.error;
      throw new JobqError(e?.code ?? 'internal', e?.message ?? `HTTP ${res.status}`, { details: { status: res.status } });
    }
    return parsed as R;
  }
}
