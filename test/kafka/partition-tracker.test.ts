/** Offsets a consumer-group member may commit: never past a record it has not finished. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PartitionTracker } from '../../src/kafka/partition-tracker.js';

it('commits up to the lowest unfinished record of each partition, and only when that moved', () => {
  const t = new PartitionTracker();
  t.assign([0, 1]);
  for (const o of [5n, 6n, 7n]) assert.ok(t.accept(0, o));
  assert.ok(t.accept(1, 0n));
  t.finish(0, 6n);
  assert.deepEqual(t.committable(), new Map([[0, 5n], [1, 0n]]), 'offset 5 is still running: nothing past it');
  t.markCommitted(t.committable());
  assert.deepEqual(t.committable(), new Map(), 'nothing new to commit');
  t.finish(0, 5n);
  t.finish(1, 0n);
  assert.deepEqual(t.committable(), new Map([[0, 7n], [1, 1n]]), 'then up to the next unfinished one (7), or past the last read');
  t.finish(0, 7n);
  assert.deepEqual(t.committable(), new Map([[0, 8n], [1, 1n]]));
});

it('drops revoked partitions and records read twice', () => {
  const t = new PartitionTracker();
  t.assign([0, 1]);
  assert.ok(t.accept(0, 3n));
  assert.equal(t.accept(0, 3n), false, 'the same record again (a rewind after a rebalance)');
  assert.equal(t.accept(0, 2n), false, 'an earlier one too');
  assert.deepEqual(t.assign([1, 2]), [0], 'partition 0 was revoked');
  assert.equal(t.accept(0, 4n), false, 'a buffered record of a revoked partition is not ours');
  assert.ok(t.accept(2, 0n));
  assert.equal(t.openCount, 1);
  assert.deepEqual([...t.committable().keys()], [2], 'nothing is committed for partitions not read yet or revoked');
});
