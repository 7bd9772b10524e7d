/**
 * Which offsets of each owned partition may be committed: a committed offset
 * is the next one to read, so it may move only up to the lowest record still
 * unfinished here. Records are finished when their job was skipped, or run
 * and written to the store. Also drops what a rebalance revoked and
 * recognises records read twice (the consumer rewinds a retained partition
 * to its committed offset after a rebalance).
 */
/** One partition as `inspect()` shows it (offsets as strings: they are bigints). */
export interface PartitionState {
  next: string;
  lowestOpen: string | null;
  open: number;
  committed: string;
}

export class PartitionTracker {
  /** Per owned partition: offsets received and not finished, and the next offset expected. */
  private readonly parts = new Map<number, { open: Set<bigint>; next: bigint; committed: bigint }>();

  get owned(): number[] {
    return [...this.parts.keys()];
  }

  owns(partition: number): boolean {
    return this.parts.has(partition);
  }

  /** The assignment now; returns the partitions taken away (their records are someone else's now). */
  assign(partitions: readonly number[]): number[] {
    const now = new Set(partitions);
    const revoked = [...this.parts.keys()].filter((p) => !now.has(p));
    for (const p of revoked) this.parts.delete(p);
    for (const p of now) if (!this.parts.has(p)) this.parts.set(p, { open: new Set(), next: -1n, committed: -1n });
    return revoked;
  }

  /** False for a record of a partition not owned, or one received before (a rewind). */
  accept(partition: number, offset: bigint): boolean {
    const p = this.parts.get(partition);
    if (!p || offset < p.next) return false;
    p.next = offset + 1n;
    p.open.add(offset);
    return true;
  }

  finish(partition: number, offset: bigint): void {
    this.parts.get(partition)?.open.delete(offset);
  }

  /** Offsets to commit now (only those that moved since the last call marked committed). */
  committable(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const [partition, p] of this.parts) {
      if (p.next < 0n) continue;
      const lowest = lowestOf(p.open) ?? p.next;
      if (lowest > p.committed) out.set(partition, lowest);
    }
    return out;
  }

  markCommitted(offsets: ReadonlyMap<number, bigint>): void {
    for (const [partition, offset] of offsets) {
      const p = this.parts.get(partition);
      if (p && offset > p.committed) p.committed = offset;
    }
  }

  /** Per owned partition: the next offset expected, the lowest unfinished one, how many are open, the last commit. */
  inspect(): Record<number, PartitionState> {
    const out: Record<number, PartitionState> = {};
    for (const [partition, p] of this.parts) {
      const lowest = lowestOf(p.open);
      out[partition] = { next: String(p.next), lowestOpen: lowest === null ? null : String(lowest), open: p.open.size, committed: String(p.committed) };
    }
    return out;
  }

  /** Records received here and not finished (all partitions). */
  get openCount(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.open.size;
    return n;
  }
}

/** The lowest offset still open, or null when none is. */
function lowestOf(open: ReadonlySet<bigint>): bigint | null {
  let lowest: bigint | null = null;
  for (const o of open) if (lowest === null || o < lowest) lowest = o;
  return lowest;
}
