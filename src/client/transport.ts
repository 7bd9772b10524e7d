/**
 * The client's one way to the server: Node's own fetch, the bearer token,
 * a time limit per call, and every error answer turned into a JobqError
 * with the server's code (and `details.status`). Network failures are
 * left as fetch raised them (a TypeError, or a TimeoutError/AbortError).
 */
import { JobqError, type ErrorCode } from '../contracts/errors.js';

export interface TransportOptions {
  url: string;
  token?: string | undefined;
  timeoutMs: number;
}

export interface CallOptions {
  /** Overrides the client's per-call time limit (a long poll waits longer). */
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export class Transport {
  readonly base: string;
  private readonly auth: Record<string, string>;

  constructor(private readonly options: TransportOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.auth = options.token ? { authorization: `Bearer ${options.token}` } : {};
  }

  /** Raw fetch with the token (for streams). */
  fetch(path: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    return fetch(this.base + path, { ...init, headers: { ...this.auth, ...init.headers } });
  }

  async request<R>(method: string, path: string, body?: unknown, call: CallOptions = {}): Promise<R> {
    const timeout = AbortSignal.timeout(call.timeoutMs ?? this.options.timeoutMs);
    const init: RequestInit & { headers: Record<string, string> } = {
      method,
      headers: { ...call.headers },
      signal: call.signal ? AbortSignal.any([timeout, call.signal]) : timeout,
    };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await this.fetch(path, init);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: ErrorCode; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      throw new JobqError(e?.code ?? (res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : 'internal'), e?.message ?? `HTTP ${res.status}`, {
        details: { ...e?.details, status: res.status },
      });
    }
    return parsed as R;
  }
}

/** The server could not be reached or is restarting: worth trying again after a pause. */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof JobqError) {
    const status = err.details?.status;
    return err.code === 'shutting_down' || err.code === 'store_unavailable' || status === 502 || status === 503 || status === 504;
  }
  const name = (err as { name?: string } | null)?.name;
  return err instanceof TypeError || name === 'TimeoutError' || name === 'AbortError' || name === 'SocketError';
}

/** The server refused the token itself: nothing to retry. */
export function isRefused(err: unknown): err is JobqError {
  return err instanceof JobqError && (err.code === 'unauthorized' || err.code === 'forbidden');
}
