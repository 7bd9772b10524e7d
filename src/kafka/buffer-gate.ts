/**
 * Backpressure for a consumer's buffered records: pause fetching above the
 * high mark, resume at or below the low mark. Every way a record leaves the
 * buffer (finished, or dropped because a rebalance took its partition) goes
 * through `remove`, so no path can leave the consumer paused with room to
 * spare: a consumer paused with nothing left to finish would never resume,
 * its partitions unread for good.
 */
export class BufferGate {
  private count = 0;
  private paused = false;

  constructor(
    private readonly high: number,
    private readonly low: number,
    private readonly flow: { pause(): void; resume(): void },
  ) {}

  get size(): number {
    return this.count;
  }

  add(n = 1): void {
    this.count += n;
    if (!this.paused && this.count > this.high) {
      this.paused = true;
      this.flow.pause();
    }
  }

  remove(n = 1): void {
    this.count -= n;
    if (this.paused && this.count <= this.low) {
      this.paused = false;
      this.flow.resume();
    }
  }
}
