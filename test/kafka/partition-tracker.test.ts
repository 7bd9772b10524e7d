/** Offsets a consumer-group member may commit: never past a record it has not finished, never from a stale record. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCurrent, ownership } from '../../src/kafka/group-consumer.js';
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

describe('which records belong to the current ownership of their partition (GroupConsumer)', () => {
  const rec = (partition: number, generationId?: number) => ({ partition, metadata: generationId === undefined ? {} : { consumer: { generationId } } });

  it('drops a record pushed before its partition came back to this member (it would start reading past the committed offset)', () => {
    let owned = ownership(new Map(), [0, 1], 1);
    assert.ok(isCurrent(owned, rec(0, 1)));
    owned = ownership(owned, [1], 2);
    assert.equal(isCurrent(owned, rec(0, 1)), false, 'partition 0 revoked: its buffered records are not ours');
    assert.ok(isCurrent(owned, rec(1, 1)), 'partition 1 was kept: a record from before the rebalance is still ours');
    owned = ownership(owned, [0, 1], 3);
    assert.equal(isCurrent(owned, rec(0, 1)), false, 'partition 0 is ours again since generation 3: a leftover of generation 1 is dropped');
    assert.equal(isCurrent(owned, rec(0, 2)), false);
    assert.ok(isCurrent(owned, rec(0, 3)), 'what the refetch from the committed offset brings');
    assert.ok(isCurrent(owned, rec(1, 1)), 'partition 1 kept its generation-1 ownership throughout');
    assert.ok(isCurrent(owned, rec(1)), 'a record without a generation is taken as current');
    assert.equal(isCurrent(owned, rec(2, 3)), false, 'never assigned');
  });

  it('starts every partition over when the generation goes back (a group created anew)', () => {
    const owned = ownership(ownership(new Map(), [0, 1], 7), [0, 1], 1);
    assert.deepEqual([...owned], [[0, 1], [1, 1]]);
  });
});
