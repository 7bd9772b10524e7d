/**
 * Time as a dependency. The core never calls Date.now() or setTimeout directly,
 * so tests of delays, leases and retries run on a fake clock in milliseconds.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`. The returned handle cancels it. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/**
 * Node's setTimeout takes at most 2^31-1 ms (about 24.9 days); a longer delay
 * fires after 1 ms with a TimeoutOverflowWarning. A job may wait ten years, so
 * every timer of jobq goes through this: long waits are chained in steps.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function setCappedTimeout(fn: () => void, ms: number, { unref = false } = {}): TimerHandle {
  let timer: NodeJS.Timeout;
  let cancelled = false;
  const arm = (remaining: number) => {
    const step = Math.min(MAX_TIMER_MS, Math.max(0, Number.isFinite(remaining) ? remaining : MAX_TIMER_MS));
    timer = setTimeout(() => {
      if (cancelled) return;
      if (remaining > MAX_TIMER_MS) arm(remaining - MAX_TIMER_MS);
      else fn();
    }, step);
    if (unref) timer.unref();
  };
  arm(ms);
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setCappedTimeout(fn, ms),
};
