/**
 * The line of jobs a dispatch loop holds ahead (core/worker/held-jobs.ts):
 * claim order, and the give-back when none of it got a slot for holdMs,
 * counted from the last start, not from when the line formed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { LeasedJob } from '../../src/contracts/job.js';
import { HeldJobs } from '../../src/core/worker/held-jobs.js';
import { FakeClock } from '../helpers/fake-clock.js';

const job = (id: string) => ({ id }) as LeasedJob;

function line(holdMs: number | null) {
  const clock = new FakeClock();
  const stale: string[][] = [];
  const held = new HeldJobs(clock, () => holdMs, (jobs) => stale.push(jobs.map((j) => j.id)));
  return { clock, held, stale };
}

it('held jobs: a line that keeps moving is never given back; one that stops for holdMs is, whole, and once', async () => {
  const { clock, held, stale } = line(50);
  held.add([job('a'), job('b'), job('c')]);
  await clock.advance(40);
  assert.equal(held.next()?.id, 'a', 'claim order');
  await clock.advance(40);
  assert.equal(held.next()?.id, 'b');
  await clock.advance(40);
  assert.deepEqual(stale, [], '80 ms since the line formed, but never 50 without a start');
  await clock.advance(20);
  assert.deepEqual(stale, [['c']], '50 ms after the last start: the rest goes back');
  assert.equal(held.size, 0);
  await clock.advance(500);
  assert.deepEqual(stale, [['c']], 'given back once');
});

it('held jobs: a dropped job leaves the line; an emptied line arms nothing; a null hold keeps them however long', async () => {
  const { clock, held, stale } = line(50);
  held.add([job('a'), job('b')]);
  assert.equal(held.drop('a')?.id, 'a');
  assert.equal(held.drop('a'), undefined, 'not held twice');
  assert.deepEqual(held.takeAll().map((j) => j.id), ['b']);
  assert.equal(clock.pendingTimers, 0, 'no timer left behind by an empty line');
  await clock.advance(100);
  assert.deepEqual(stale, []);

  const forever = line(null);
  forever.held.add([job('x')]);
  await forever.clock.advance(3_600_000);
  assert.deepEqual(forever.stale, []);
  assert.equal(forever.held.size, 1, 'a set prefetch is held as set');
});
