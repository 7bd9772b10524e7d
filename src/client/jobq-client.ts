/** A small HTTP client for a running jobq server (used by the CLI; usable from any Node 20 program). */
import { JobqError, type ErrorCode } from '../contracts/errors.js';
import type { EnqueueInput } from '../core/enqueue-input.js';

export interface JobqClientOptions {
  /** Base URL of the server. @defaultValue 'http://127.0.0.1:8080' */
  url?: string;
  /** Per-request time limit. @defaultValue 10_000 */
  timeoutMs?: number;
}

/** A job as the HTTP API returns it (times as ISO strings). */
export type JobJson = Record<string, unknown> & { id: string; status: string };

export class JobqClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(options: JobqClientOptions = {}) {
    this.base = (options.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  enqueue(input: EnqueueInput): Promise<JobJson> {
    return this.request('POST', '/v1/jobs', input);
  }

  async enqueueMany(inputs: EnqueueInput[]): Promise<{ id: string; status: string }[]> {
    const out = await this.request<{ jobs: { id: string; status: string }[] }>('POST', '/v1/jobs', inputs);
    return out.jobs;
  }

  get(id: string): Promise<JobJson> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, init);
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (parsed as { error?: { code?: ErrorCode; message?: string } } | undefined)?.error;
      throw new JobqError(e?.code ?? 'internal', e?.message ?? `HTTP ${res.status}`, { details: { status: res.status } });
    }
    return parsed as T;
  }
}
