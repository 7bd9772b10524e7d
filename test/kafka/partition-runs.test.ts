/** The relay's placement of keyless records: one contiguous run per partition, balanced, rotating across batches. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PartitionRuns } from '../../src/kafka/partition-runs.js';

const counts = (ps: number[], partitions: number) => ps.reduce((c, p) => (c[p]!++, c), new Array<number>(partitions).fill(0));

it('cuts a batch into one contiguous run per partition, as even as round robin', () => {
  const ps = new PartitionRuns().assign('t', 1000, 12);
  assert.equal(ps.length, 1000);
  const c = counts(ps, 12);
  assert.deepEqual(c, [...new Array<number>(11).fill(84), 76], 'runs of 84, the last one shorter');
  const changes = ps.filter((p, i) => i > 0 && p !== ps[i - 1]).length;
  assert.equal(changes, 11, 'one run per partition: the partition changes 11 times');
  assert.deepEqual(ps.slice(0, 85), [...new Array<number>(84).fill(0), 1]);
});

it('starts each batch where the last one ended, per topic', () => {
  const runs = new PartitionRuns();
  assert.deepEqual(runs.assign('t', 6, 4), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(runs.assign('t', 2, 4), [3, 0]);
  assert.deepEqual(runs.assign('other', 1, 4), [0], 'another topic keeps its own place');
  assert.deepEqual(runs.assign('t', 1, 4), [1]);
});

it('spreads single records like round robin (a steady trickle of enqueues)', () => {
  const runs = new PartitionRuns();
  const ps = Array.from({ length: 24 }, () => runs.assign('t', 1, 12)[0]!);
  assert.deepEqual(counts(ps, 12), new Array<number>(12).fill(2));
  assert.deepEqual(ps.slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

it('gives a batch smaller than the partition count one record per partition', () => {
  assert.deepEqual(new PartitionRuns().assign('t', 5, 12), [0, 1, 2, 3, 4]);
  assert.deepEqual(new PartitionRuns().assign('t', 0, 12), []);
});
