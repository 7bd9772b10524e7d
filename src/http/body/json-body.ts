/**
 * The JSON body parser of the HTTP app. Bodies up to 256 KiB are parsed on
 * the event loop (well under a millisecond). Larger ones go to a worker
 * thread (parse-worker.ts): the loop only waits for the answer, so no request
 * can hold it for long at any body size the limits allow. Either way the body
 * must be strict UTF-8 (invalid bytes are refused, not replaced), and an empty
 * body counts as no body (curl -X POST sends one).
 */
import { Worker } from 'node:worker_threads';
import { JobqError, type ErrorCode } from '../../contracts/errors.js';
import { JsonText } from '../../core/json-text.js';
import { RAW_MARK, type ParseReply, type ParseRequest } from './parse-worker.js';

export const INLINE_PARSE_BYTES = 256 * 1024;

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** One worker thread, started on first use, idle threads unref'd so they never hold the process open. */
export class BodyParserPool {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  parse(body: Uint8Array, rawFields: readonly string[], maxItems: number): Promise<unknown> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      const req: ParseRequest = { id, body, rawFields, maxItems };
      worker.postMessage(req);
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(revive(reply.value));
      else p.reject(new JobqError(reply.code as ErrorCode, reply.message, reply.details ? { details: reply.details } : {}));
    });
    const fail = (err: unknown) => {
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new JobqError('internal', 'the body parser stopped', { cause: err }));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => code !== 0 && fail(new Error(`exit ${code}`)));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

function reviveOne(obj: unknown): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return;
  const o = obj as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null && RAW_MARK in v) o[k] = new JsonText((v as Record<string, string>)[RAW_MARK]!);
  }
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) value.forEach(reviveOne);
  else reviveOne(value);
  return value;
}
