/** Exponential backoff with jitter for reconnecting: 100 ms doubling to 5 s, each delay drawn from its upper half. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly firstMs = 100,
    private readonly maxMs = 5_000,
  ) {}

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }

  /** Waits the next delay; returns early when `signal` aborts. */
  sleep(signal?: AbortSignal): Promise<void> {
    const cap = Math.min(this.maxMs, this.firstMs * 2 ** this.attempt++);
    const ms = cap / 2 + Math.random() * (cap / 2);
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
