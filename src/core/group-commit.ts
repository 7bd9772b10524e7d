/**
 * Group commit: calls that arrive within one event-loop tick share one store
 * transaction, and each caller's promise settles only after that transaction
 * committed. With 50 concurrent HTTP enqueuers this turns ~50 fsyncs into one.
 *
 * While a flush is running (async stores), new calls gather for the next one,
 * so at most one flush per committer is in flight and order is kept.
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
  private flushing: Promise<void> | null = null;

  /**
   * @param commit writes all items in one transaction; returns one result per item, in order.
   * @param maxItems items per transaction at most; a larger backlog takes several.
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
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
    while (this.flushing || this.waiting.length > 0 || this.scheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.waiting.length > 0) this.schedule();
      });
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
