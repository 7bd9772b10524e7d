/**
 * Group commit: calls that arrive within one event-loop tick share one store
 * transaction, and each caller's promise settles only after that transaction
 * committed. With 50 concurrent HTTP enqueuers this turns ~50 fsyncs into one.
 *
 * While `maxInFlight` flushes are running, new calls gather for the next one;
 * transactions start in arrival order. On SQLite two in flight measured no
 * better than one (HTTP enqueue 29.8k/31.7k vs 28.7k/31.2k req/s), so one is
 * the default; a store with network round trips may want more.
 */
interface Pending<T, R> {
  items: readonly T[];
  resolve: (results: R[]) => void;
  reject: (err: unknown) => void;
}

export class GroupCommitter<T, R> {
  private waiting: Pending<T, R>[] = [];
  private waitingCount = 0;
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param commit writes all items in one transaction; returns one result per item, in order.
   * @param maxItems items per transaction at most; a larger backlog takes several.
   * @param maxInFlight transactions under way at once.
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
    private readonly maxInFlight = 1,
  ) {}

  add(items: readonly T[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      this.waitingCount += items.length;
      this.schedule();
    });
  }

  /** Resolves when everything added so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.waiting.length > 0 || this.scheduled) {
      if (this.inFlight.size > 0) await Promise.all(this.inFlight);
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.waiting.length === 0) return;
      const flushing: Promise<void> = this.flush().finally(() => {
        this.inFlight.delete(flushing);
        if (this.waiting.length > 0) this.schedule();
      });
      this.inFlight.add(flushing);
    });
  }

  private async flush(): Promise<void> {
    const batch: Pending<T, R>[] = [];
    let count = 0;
    // Always take at least one caller, even one larger than maxItems.
    while (this.waiting.length > 0 && (batch.length === 0 || count + this.waiting[0]!.items.length <= this.maxItems)) {
      const next = this.waiting.shift()!;
      batch.push(next);
      count += next.items.length;
    }
    this.waitingCount -= count;
    const items = batch.length === 1 ? [...batch[0]!.items] : batch.flatMap((p) => p.items);
    let results: R[];
    try {
      results = await this.commit(items);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let offset = 0;
    for (const p of batch) {
      p.resolve(results.slice(offset, offset + p.items.length));
      offset += p.items.length;
    }
  }

  get backlog(): number {
    return this.waitingCount;
  }
}
