/**
 * What callers may ask for when enqueueing, and the one function that turns
 * it into a stored record. The HTTP schemas check shapes; this checks meaning,
 * for HTTP and library callers alike.
 */
import { v7 as uuidv7 } from 'uuid';
import { JobqError } from '../contracts/errors.js';
import type { NewJobRecord } from '../contracts/store.js';
import { JsonText } from './json-text.js';
import { checkJsonShape } from './json-shape.js';
import { MAX_ATTEMPTS_LIMIT, NAME_PATTERN, PRIORITY_RANGE, type ResolvedOptions } from './options.js';

export interface EnqueueInput<Payload = unknown> {
  /** Handler name. */
  type: string;
  /** Any JSON value. @defaultValue null */
  payload?: Payload;
  /** @defaultValue 'default' */
  queue?: string;
  /** Higher runs first. @defaultValue 0 */
  priority?: number;
  /** @defaultValue 3 */
  maxAttempts?: number;
  /** Per-attempt limit in ms. @defaultValue none */
  timeoutMs?: number | null;
  /** Earliest start: epoch ms, Date or ISO string. Exclusive with delayMs. */
  runAt?: number | Date | string;
  /** Earliest start, relative to now. */
  delayMs?: number;
}

/** Longest delay or time limit accepted (about ten years). */
export const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;
/** Latest runAt accepted: the end of year 9999, the last instant ISO 8601 writes with four digits. */
export const MAX_RUN_AT_MS = 253_402_300_799_999;

function bad(field: string, message: string, index?: number): JobqError {
  const where = index === undefined ? field : `jobs[${index}].${field}`;
  return new JobqError('invalid_request', `${where} ${message}`, { details: { field: where } });
}

function checkInt(field: string, value: unknown, min: number, max: number, index?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(field, `must be an integer from ${min} to ${max}`, index);
  }
  return value;
}

function resolveRunAt(input: EnqueueInput, now: number, index?: number): number {
  if (input.runAt !== undefined && input.delayMs !== undefined) throw bad('runAt', 'and delayMs cannot both be given', index);
  if (input.delayMs !== undefined) return now + checkInt('delayMs', input.delayMs, 0, MAX_DELAY_MS, index);
  if (input.runAt === undefined) return now;
  const t = input.runAt instanceof Date ? input.runAt.getTime() : typeof input.runAt === 'string' ? Date.parse(input.runAt) : input.runAt;
  if (typeof t !== 'number' || !Number.isFinite(t) || t > MAX_RUN_AT_MS) {
    throw bad('runAt', 'must be a valid time: epoch ms, a Date or an ISO 8601 date-time, up to the year 9999', index);
  }
  // A time in the past means "due now", and is stored as now: claims order by run time,
  // so a runAt of 1970 (or of year 0) must not jump ahead of jobs already waiting.
  return Math.max(now, Math.trunc(t));
}

export function toNewJobRecord(input: EnqueueInput, opts: ResolvedOptions, now: number, index?: number): NewJobRecord {
  if (typeof input !== 'object' || input === null) throw bad('job', 'must be an object', index);
  if (typeof input.type !== 'string' || !NAME_PATTERN.test(input.type)) {
    throw bad('type', `must match ${NAME_PATTERN.source}`, index);
  }
  const queue = input.queue ?? opts.jobDefaults.queue;
  if (typeof queue !== 'string' || !NAME_PATTERN.test(queue)) throw bad('queue', `must match ${NAME_PATTERN.source}`, index);
  let payloadJson: string | undefined;
  if (input.payload instanceof JsonText) payloadJson = input.payload.text;
  else {
    checkJsonShape(input.payload, index === undefined ? 'payload' : `jobs[${index}].payload`);
    payloadJson = JSON.stringify(input.payload ?? null);
  }
  if (payloadJson === undefined) throw bad('payload', 'must be a JSON value', index);
  const payloadBytes = Buffer.byteLength(payloadJson, 'utf8');
  if (payloadBytes > opts.limits.maxPayloadBytes) {
    throw new JobqError('payload_too_large', `payload is ${payloadBytes} bytes; the limit is ${opts.limits.maxPayloadBytes}`, {
      details: { field: index === undefined ? 'payload' : `jobs[${index}].payload`, limit: opts.limits.maxPayloadBytes },
    });
  }
  const timeoutMs = input.timeoutMs === undefined ? opts.jobDefaults.timeoutMs : input.timeoutMs;
  const runAt = resolveRunAt(input, now, index);
  return {
    id: uuidv7(),
    queue,
    type: input.type,
    payloadJson,
    priority: input.priority === undefined ? opts.jobDefaults.priority : checkInt('priority', input.priority, PRIORITY_RANGE.min, PRIORITY_RANGE.max, index),
    maxAttempts: input.maxAttempts === undefined ? opts.jobDefaults.maxAttempts : checkInt('maxAttempts', input.maxAttempts, 1, MAX_ATTEMPTS_LIMIT, index),
    timeoutMs: timeoutMs === null ? null : checkInt('timeoutMs', timeoutMs, 1, MAX_DELAY_MS, index),
    runAt,
    createdAt: now,
    status: runAt <= now ? 'pending' : 'scheduled',
  };
}
