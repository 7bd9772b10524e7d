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

export type HandlerMap = Record<string, Handler>;

/** Why a running job's signal was aborted. */
export type AbortReason = 'timeout' | 'cancelled' | 'lease_lost' | 'shutdown';
