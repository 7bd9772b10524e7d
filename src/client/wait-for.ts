/**
 * `client.waitFor(id)`: resolves with the job once it is completed, failed
 * or cancelled. With the server's event stream (GET /v1/events) it listens
 * for the job's events and reads the job after each (and once the stream is
 * open, so an end before it is not missed); a server without one (404) is
 * remembered, and the job is read with backoff instead (50 ms growing to 1 s).
 * A server that restarts meanwhile (the stream breaks, a read finds nobody
 * listening) is waited for with the same backoff until the deadline: the
 * job outlives the server, so the wait does too.
 */
import { JobqError } from '../contracts/errors.js';
import type { JobStatus } from '../contracts/job.js';
import type { JobJson } from './wire-types.js';
import { isUnreachable, type Transport } from './transport.js';

const FINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
/** Even with the stream, a look this often (a stream can drop an event on reconnects). */
const SAFETY_POLL_MS = 5_000;

export class JobWaiter {
  /** null: not known yet; false: this server has no event stream. */
  private streamAvailable: boolean | null = null;

  constructor(private readonly http: Transport) {}

  private get(id: string): Promise<JobJson> {
    return this.http.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  async waitFor(id: string, timeoutMs: number): Promise<JobJson> {
    const deadline = Date.now() + timeoutMs;
    if (this.streamAvailable !== false) {
      const job = await this.viaStream(id, deadline, timeoutMs);
      if (job) return job;
    }
    return this.viaPolling(id, deadline);
  }

  private timedOut(id: string, timeoutMs: number): JobqError {
    return new JobqError('timeout', `job ${id} did not finish within ${timeoutMs} ms`);
  }

  /** Null when the server has no stream (then the caller polls). */
  private async viaStream(id: string, deadline: number, timeoutMs: number): Promise<JobJson | null> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), Math.max(0, deadline - Date.now()));
    try {
      const res = await this.http.fetch(`/v1/events?jobId=${encodeURIComponent(id)}&kinds=completed,failed,cancelled`, { method: 'GET', headers: { accept: 'text/event-stream' }, signal: ctl.signal });
      if (res.status === 404) {
        this.streamAvailable = false;
        await res.body?.cancel();
        return null;
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        return null; // e.g. a token without jobs:read on the stream: polling will say why
      }
      this.streamAvailable = true;
      let job = await this.get(id);
      if (FINAL.includes(job.status)) return job;
      const reader = res.body.getReader();
      let lastLook = Date.now();
      for (;;) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), SAFETY_POLL_MS).unref())]);
        if (chunk?.done) return null; // the server ended the stream (shutting down): poll from here
        // Any event of the job (or the safety interval): look at the job itself.
        if (chunk === null || new TextDecoder().decode(chunk.value).includes('data:') || Date.now() - lastLook >= SAFETY_POLL_MS) {
          lastLook = Date.now();
          job = await this.get(id);
          if (FINAL.includes(job.status)) {
            await reader.cancel().catch(() => {});
            return job;
          }
        }
      }
    } catch (err) {
      if (ctl.signal.aborted && Date.now() >= deadline) throw this.timedOut(id, timeoutMs);
      if (isUnreachable(err)) return null; // the server went away mid-stream: poll until it is back
      throw err;
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
  }

  private async viaPolling(id: string, deadline: number): Promise<JobJson> {
    let pollMs = 50;
    for (;;) {
      let status = 'unknown: the server could not be reached';
      try {
        const job = await this.get(id);
        if (FINAL.includes(job.status)) return job;
        status = job.status;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new JobqError('timeout', `job ${id} did not finish in time (still ${status})`);
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
      pollMs = Math.min(pollMs * 1.5, 1000);
    }
  }
}
