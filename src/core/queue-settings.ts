/**
 * Checks a queue's flow-control settings: every limit an integer of at least
 * 1 (or null for none), the error naming the field.
 */
import { JobqError } from '../contracts/errors.js';
import { NO_LIMITS, type QueueSettings, type RateLimit } from '../contracts/store.js';
import { MAX_DELAY_MS } from './input-limits.js';

export type QueueSettingsInput = Partial<{ [K in keyof QueueSettings]: QueueSettings[K] | undefined }>;

function bad(field: string, rule: string): JobqError {
  return new JobqError('invalid_request', `${field} ${rule}`, { details: { field } });
}

function count(field: string, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 1_000_000) throw bad(field, 'must be an integer from 1 to 1000000, or null for no limit');
  return v;
}

function rate(field: string, v: unknown): RateLimit | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be { max, intervalMs }, or null for no limit');
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'max' && k !== 'intervalMs') throw bad(`${field}.${k}`, 'is not a field of a rate limit (max, intervalMs)');
  const max = count(`${field}.max`, r.max);
  if (max === null) throw bad(`${field}.max`, 'is required');
  if (typeof r.intervalMs !== 'number' || !Number.isSafeInteger(r.intervalMs) || r.intervalMs < 1 || r.intervalMs > MAX_DELAY_MS) {
    throw bad(`${field}.intervalMs`, `must be an integer from 1 to ${MAX_DELAY_MS}`);
  }
  return { max, intervalMs: r.intervalMs };
}

/** The settings after applying `input` to `current` (a field left out keeps its value; null removes the limit). */
export function mergeSettings(current: QueueSettings = NO_LIMITS, input: QueueSettingsInput): QueueSettings {
  if (typeof input !== 'object' || input === null) throw bad('settings', 'must be an object');
  for (const k of Object.keys(input)) if (!(k in NO_LIMITS)) throw bad(k, 'is not a queue setting (concurrency, perKeyConcurrency, rateLimit, perKeyRateLimit)');
  return {
    concurrency: 'concurrency' in input ? count('concurrency', input.concurrency) : current.concurrency,
    perKeyConcurrency: 'perKeyConcurrency' in input ? count('perKeyConcurrency', input.perKeyConcurrency) : current.perKeyConcurrency,
    rateLimit: 'rateLimit' in input ? rate('rateLimit', input.rateLimit) : current.rateLimit,
    perKeyRateLimit: 'perKeyRateLimit' in input ? rate('perKeyRateLimit', input.perKeyRateLimit) : current.perKeyRateLimit,
  };
}
