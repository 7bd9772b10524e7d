/** Exponential backoff with jitter, capped: delay before attempt n+1 after attempt n failed. */
import type { ResolvedOptions } from './options.js';

export function retryDelayMs(attempt: number, retry: ResolvedOptions['retry'], random: () => number): number {
  const exponential = retry.baseDelayMs * retry.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(retry.maxDelayMs, exponential);
  return Math.round(capped * (1 - retry.jitter * random()));
}
