/**
 * The filtered walk's page rule on its own, over fake ranges: what the
 * conformance suite cannot make happen on purpose, a match deleted between
 * the statement that found it and the one that reads it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { walkFiltered, type WalkRange } from '../../src/storage/filtered-walk.js';
import { decodeCursor, listOrder } from '../../src/storage/list-order.js';

// One queue's listing: its key is (queue, seq), the queue fixed.
const order = listOrder('q', undefined);

/** Rows 1..n in the order queue q received them, one range after the cursor; `deleted` vanish between finding and reading. */
function listing(n: number, match: (seq: number) => boolean, deleted: Set<number>) {
  return async (limit: number, maxScan: number, cursor: string | undefined) => {
    const after = (decodeCursor(order, cursor)?.[1] as number | undefined) ?? 0;
    const rows = Array.from({ length: n }, (_, i) => i + 1).filter((seq) => seq > after);
    const range: WalkRange<number> = {
      hits: (within, max) => rows.slice(0, within).filter(match).slice(0, max),
      count: (upTo) => Math.min(rows.length, upTo),
      keyAt: (index) => ['q', rows[index]!],
    };
    return walkFiltered({ order, limit, maxBytes: 1e9, maxScan, ranges: [range], key: (seq) => ['q', seq], take: (seq) => (deleted.has(seq) ? null : { job: seq, bytes: 0 }) });
  };
}

async function pages(list: ReturnType<typeof listing>, limit: number, maxScan: number): Promise<number[][]> {
  const out: number[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list(limit, maxScan, cursor);
    out.push(page.jobs);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && out.length < 100);
  return out;
}

it('a match deleted before it was read leaves a short page that goes on after it, skipping no other match', async () => {
  const even = (seq: number) => seq % 2 === 0;
  // Matches 2 4 6 8 10. The first page asks for three (two and one more): 2 4 6, and 4 is gone when read.
  assert.deepEqual(await pages(listing(10, even, new Set([4])), 2, 100), [[2, 6], [8, 10]]);
  assert.deepEqual(await pages(listing(10, even, new Set()), 2, 100), [[2, 4], [6, 8], [10]]);
  // With a budget of four jobs a page: 1 2 3 4 (both matches gone), then 5 6 7 8, then 9 10.
  assert.deepEqual(await pages(listing(10, even, new Set([2, 4, 6])), 3, 4), [[], [8], [10]]);
});
