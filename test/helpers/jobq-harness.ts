/** A Jobq on a fake clock and an in-memory store, for fast deterministic core tests. */
import { Jobq } from '../../src/core/jobq.js';
import type { JobqOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { FakeClock } from './fake-clock.js';

export function fakeJobq(options: Partial<JobqOptions> = {}) {
  const clock = new FakeClock();
  const store = options.store ?? new MemoryStore();
  const jobq = new Jobq({
    store,
    clock,
    random: () => 0, // no jitter: delays are exact
    leaseMs: 3000,
    pollIntervalMs: 100,
    rescueIntervalMs: 500,
    retry: { baseDelayMs: 1000, factor: 2, maxDelayMs: 60_000, jitter: 0.25 },
    ...options,
  });
  return { jobq, clock, store };
}

/** A promise with its resolve/reject exposed, for handlers a test finishes by hand. */
export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
