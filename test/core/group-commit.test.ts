/** The group committer: promise callers and callback callers share one transaction, each told its own result. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommitter } from '../../src/core/group-commit.js';

describe('group commit', () => {
  it('callers of one tick, by promise and by callback, share one commit in arrival order and each hears its own results', async () => {
    const commits: number[][] = [];
    const g = new GroupCommitter<number, string>(async (items) => {
      commits.push([...items]);
      return items.map((n) => `r${n}`);
    }, 100);
    const told: [number, string | undefined, unknown][] = [];
    const settled = (item: number, result: string | undefined, err: unknown) => void told.push([item, result, err]);
    g.addOne(1, settled);
    const batch = g.add([2, 3]);
    g.addOne(4, settled);
    assert.equal(g.backlog, 4);
    assert.deepEqual(await batch, ['r2', 'r3']);
    await g.drain();
    assert.deepEqual(commits, [[1, 2, 3, 4]]);
    assert.deepEqual(told, [
      [1, 'r1', undefined],
      [4, 'r4', undefined],
    ]);
    assert.equal(g.backlog, 0);
  });

  it('a failed commit tells every caller of its batch the error, and later batches go on', async () => {
    let fail = true;
    const g = new GroupCommitter<number, number>(async (items) => {
      if (fail) {
        fail = false;
        throw new Error('store down');
      }
      return items.map((n) => n * 10);
    }, 100);
    const told: [number, number | undefined, unknown][] = [];
    const settled = (item: number, result: number | undefined, err: unknown) => void told.push([item, result, err]);
    g.addOne(1, settled);
    const rejected = g.add([2]).then(
      () => null,
      (e: Error) => e.message,
    );
    assert.equal(await rejected, 'store down');
    await g.drain();
    assert.equal(told.length, 1);
    assert.equal(told[0]![0], 1);
    assert.equal(told[0]![1], undefined);
    assert.equal((told[0]![2] as Error).message, 'store down');
    g.addOne(5, settled);
    await g.drain();
    assert.deepEqual(told[1], [5, 50, undefined]);
  });

  it('splits a backlog larger than maxItems into batches, callbacks counted one item each', async () => {
    const commits: number[][] = [];
    const g = new GroupCommitter<number, number>(async (items) => {
      commits.push([...items]);
      return items;
    }, 3);
    const told: number[] = [];
    for (let i = 1; i <= 7; i++) g.addOne(i, (item, result) => void told.push(result ?? -item));
    await g.drain();
    assert.deepEqual(commits, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(told, [1, 2, 3, 4, 5, 6, 7]);
  });
});
