/** What a job handler is given and may return. */
import type { Logger } from 'pino';
import type { Job } from '../contracts/job.js';

export interface JobContext {
  /** Fires on timeout, cancel, lost lease and forced shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** Records progress (any number, e.g. percent) on the job; fire-and-forget safe. */
  progress(value: number): Promise<void>;
  /** The jobs this one depends on (`dependsOn`, a flow's children), with their results, in the order named. */
  dependencies(): Promise<Job[]>;
  log: Logger;
}

/** Returns the job's result (any JSON value, or undefined for none). */
export type Handler<Payload = any, Result = unknown> = (job: Job<Payload>, ctx: JobContext) => Promise<Result> | Result;

/**
 * Payload types by job type name, e.g. `{ email: EmailPayload; resize: ResizePayload }`.
 * Given to `Jobq<T>` (and `JobqClient<T>`), enqueue checks each payload against
 * its type, handlers receive it typed, and an unknown type name fails to compile.
 * Without one, any type name and any payload are accepted (`DefaultJobTypes`).
 */
export type JobTypes = object;

/** The untyped map: any type name, any payload (`any`, so that `Jobq<T>` is assignable to plain `Jobq`). */
export type DefaultJobTypes = any;

/** Handlers by job type; with a `JobTypes` map each handler gets its own payload type. */
export type HandlerMap<T extends JobTypes = DefaultJobTypes> = { [K in keyof T & string]?: Handler<T[K]> };

/** Why a running job's signal was aborted. */
export type AbortReason = 'timeout' | 'cancelled' | 'lease_lost' | 'shutdown';
