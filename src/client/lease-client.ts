/**
 * The lease protocol as plain calls (`client.leases`), for workers that want
 * their own loop; `client.runWorker()` is built on it.
 */
import type { JobJson } from './wire-types.js';
import type { CallOptions, Transport } from './transport.js';

/** A job handed out by a claim, with the token that fences every later call about it. */
export interface LeasedJobJson<Payload = unknown> extends JobJson<Payload> {
  leaseToken: string;
}

export interface LeaseRefJson {
  id: string;
  leaseToken: string;
}

export interface ClaimOptions {
  /** 1..100. @defaultValue 1 */
  max?: number;
  /** How long the lease holds without a heartbeat. @defaultValue the server's --lease-ms */
  leaseMs?: number;
  /** Wait this long (up to 30 s) for a job when none is ready. @defaultValue 0 */
  waitMs?: number;
  /** Only these job types. @defaultValue any */
  types?: readonly string[];
  /** Names this worker in the server's node list (letters, digits, "_", ".", ":", "-"). @defaultValue the token and address */
  workerId?: string;
}

export interface RemoteErrorJson {
  message: string;
  stack?: string;
}

export interface FailOptionsJson {
  /** false fails the job for good. @defaultValue true */
  retryable?: boolean;
  /** Run again after this long instead of the retry policy's backoff. */
  retryAfterMs?: number;
  /** Throttled by the remote side: back in line after retryAfterMs, the attempt given back, its rate key (or the queue) held. */
  rateLimited?: { retryAfterMs: number; scope?: 'key' | 'queue' };
}

export type FinishJson = LeaseRefJson &
  ({ outcome: 'completed'; result?: unknown } | ({ outcome: 'failed'; error: RemoteErrorJson } & FailOptionsJson) | { outcome: 'released' });

export interface FinishResultJson extends LeaseRefJson {
  /** false: the lease was lost (nothing changed), or the item was refused (see error). */
  applied: boolean;
  status: string | null;
  error?: { code: string; message: string };
}

export class LeaseClient {
  constructor(private readonly http: Transport) {}

  /** Leases up to `max` jobs of the queue; with `waitMs`, waits for one to arrive. */
  async claim(queue: string, options: ClaimOptions = {}, call: CallOptions = {}): Promise<LeasedJobJson[]> {
    const out = await this.http.request<{ jobs: LeasedJobJson[] }>('POST', `/v1/queues/${encodeURIComponent(queue)}/claim`, options, {
      timeoutMs: (options.waitMs ?? 0) + 10_000,
      ...call,
    });
    return out.jobs;
  }

  /**
   * A claim that also reports finished jobs on the way, answered in `results`
   * (in order, as `finish`): one request instead of two. It never waits.
   */
  async claimWith(queue: string, options: Omit<ClaimOptions, 'waitMs'>, finishes: readonly FinishJson[], call: CallOptions = {}): Promise<{ jobs: LeasedJobJson[]; results: FinishResultJson[] }> {
    const out = await this.http.request<{ jobs: LeasedJobJson[]; results: FinishResultJson[] }>('POST', `/v1/queues/${encodeURIComponent(queue)}/claim`, { ...options, finishes }, call);
    return { jobs: out.jobs, results: out.results };
  }

  /** Heartbeat for many leases; says which are still held. */
  extend(leases: readonly LeaseRefJson[], leaseMs?: number, call?: CallOptions): Promise<{ extended: LeaseRefJson[]; lost: LeaseRefJson[] }> {
    return this.http.request('POST', '/v1/leases/extend', { leases, ...(leaseMs !== undefined && { leaseMs }) }, call);
  }

  /** Completes, fails or releases many leased jobs; answers per job, in order. */
  async finish(finishes: readonly FinishJson[], call?: CallOptions): Promise<FinishResultJson[]> {
    return (await this.http.request<{ results: FinishResultJson[] }>('POST', '/v1/leases/finish', { finishes }, call)).results;
  }

  /** Throws JobqError `lease_lost` when the lease no longer holds the job. */
  complete(lease: LeaseRefJson, result?: unknown): Promise<{ id: string; status: string }> {
    return this.http.request('POST', `/v1/jobs/${encodeURIComponent(lease.id)}/complete`, { leaseToken: lease.leaseToken, ...(result !== undefined && { result }) });
  }

  fail(lease: LeaseRefJson, error: RemoteErrorJson, options: FailOptionsJson = {}): Promise<{ id: string; status: string }> {
    return this.http.request('POST', `/v1/jobs/${encodeURIComponent(lease.id)}/fail`, { leaseToken: lease.leaseToken, error, ...options });
  }

  progress(lease: LeaseRefJson, progress: number): Promise<{ id: string; status: string }> {
    return this.http.request('POST', `/v1/jobs/${encodeURIComponent(lease.id)}/progress`, { leaseToken: lease.leaseToken, progress });
  }

  /** Back to pending, the attempt not spent. */
  release(lease: LeaseRefJson): Promise<{ id: string; status: string }> {
    return this.http.request('POST', `/v1/jobs/${encodeURIComponent(lease.id)}/release`, { leaseToken: lease.leaseToken });
  }
}
