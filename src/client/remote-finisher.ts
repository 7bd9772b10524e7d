/**
 * A remote worker's finished jobs go to the server in batches: one request
 * in flight at a time, and whatever finished meanwhile rides the next one
 * (up to 1,000 per request), the way the core group-commits finishes. While
 * the server cannot be reached, the batch waits and is sent again with
 * backoff; a lease that ran out meanwhile answers "not applied", and the
 * job runs (or ran) elsewhere: at-least-once, never a lost job.
 */
import { JobqError } from '../contracts/errors.js';
import type { Logger } from 'pino';
import { Backoff } from './backoff.js';
import type { FinishJson, FinishResultJson, LeaseClient } from './lease-client.js';
import { isRefused, isUnreachable } from './transport.js';

const MAX_BATCH = 1000;

/** Told the server's answer for a finish, or null when it could not be delivered. */
export type FinishCallback = (r: FinishResultJson | null) => void;

export interface Pending {
  item: FinishJson;
  resolve: FinishCallback;
}

const ignore: FinishCallback = () => {};

export class RemoteFinisher {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private giveUpAt = Infinity;
  private readonly stopRetrying = new AbortController();

  constructor(
    private readonly leases: LeaseClient,
    private readonly logger: Logger,
    /** The server refused the token: the worker must stop. */
    private readonly refused: (err: JobqError) => void,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a finish; `done` is told the server's answer (a callback, not a promise: a drain makes 50,000 of these). */
  add(item: FinishJson, done: FinishCallback = ignore): void {
    this.queue.push({ item, resolve: done });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // Everything that finishes in this tick goes in one request.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing ??= this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const backoff = new Backoff();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      for (;;) {
        try {
          const results = await this.leases.finish(batch.map((p) => p.item));
          results.forEach((r, i) => this.answered(batch[i]!, r));
          break;
        } catch (err) {
          if (isRefused(err)) {
            this.refused(err);
            for (const p of batch) p.resolve(null);
            this.dropAll();
            return;
          }
          if (!isUnreachable(err) || Date.now() >= this.giveUpAt) {
            this.logger.error({ err, jobs: batch.length }, 'could not report finished jobs; their leases will expire and they run again');
            for (const p of batch) p.resolve(null);
            break;
          }
          if (backoff.failures === 0) this.logger.warn({ err, jobs: batch.length }, 'cannot reach the jobq server to report finished jobs; retrying with backoff');
          await backoff.sleep(this.stopRetrying.signal);
        }
      }
    }
  }

  /** Takes the finishes waiting to be sent, to ride along with a claim; the caller says how that went. */
  take(): Pending[] {
    return this.queue.splice(0, MAX_BATCH);
  }

  /** The claim they rode with was answered. */
  delivered(batch: readonly Pending[], results: readonly FinishResultJson[]): void {
    batch.forEach((p, i) => (results[i] ? this.answered(p, results[i]) : p.resolve(null)));
  }

  /** The claim they rode with failed: they go the usual way (retried with backoff while the server is away). */
  undelivered(batch: readonly Pending[], err: unknown): void {
    if (isRefused(err)) {
      for (const p of batch) p.resolve(null);
      return;
    }
    this.queue.unshift(...batch);
    this.schedule();
  }

  private answered(p: Pending, r: FinishResultJson): void {
    // A result over the server's limit fails the job, as in process (the handler's result could not be stored).
    if (!r.applied && r.error?.code === 'payload_too_large' && p.item.outcome === 'completed') {
      const { id, leaseToken } = p.item;
      this.add({ id, leaseToken, outcome: 'failed', error: { message: `handler result refused: ${r.error.message}` }, retryable: false }, p.resolve);
      return;
    }
    if (!r.applied && r.error) this.logger.error({ jobId: r.id, code: r.error.code, message: r.error.message }, 'the server refused a finished job');
    p.resolve(r);
  }

  private dropAll(): void {
    for (const p of this.queue.splice(0)) p.resolve(null);
  }

  /** Waits until everything was sent, trying no longer than `deadlineMs` from now. */
  async drain(deadlineMs: number): Promise<void> {
    this.giveUpAt = Date.now() + deadlineMs;
    const timer = setTimeout(() => this.stopRetrying.abort(), deadlineMs);
    timer.unref();
    try {
      while (this.queue.length > 0 || this.flushing || this.scheduled) {
        if (this.flushing) await this.flushing;
        else await new Promise<void>((r) => setImmediate(r));
        if (Date.now() >= this.giveUpAt && !this.flushing) {
          this.dropAll();
          break;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
