/** RunningJobs: one entry per job id, even when the same job is claimed again while a lost attempt still runs here. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LeasedJob } from '../../src/contracts/job.js';
import { RunningJobs, type RunningJob } from '../../src/core/worker/running-jobs.js';

const rj = (id: string, attempts: number): RunningJob => ({
  job: { id, queue: 'q', attempts } as LeasedJob,
  controller: new AbortController(),
  abortReason: null,
  timeoutTimer: null,
  done: false,
  startedAt: 0,
});

describe('RunningJobs', () => {
  it('a second attempt of a job still here gives the first up: one slot, the new attempt tracked, the old one aborted', () => {
    const running = new RunningJobs();
    const first = rj('j', 1);
    running.add(first);
    const second = rj('j', 2);
    assert.equal(running.add(second), first);
    assert.equal(first.done, true);
    assert.equal(first.abortReason, 'lease_lost');
    assert.equal(first.controller!.signal.aborted, true);
    assert.equal(running.count('q'), 1);
    assert.equal(running.get('j'), second);
    // The old handler settling later changes nothing.
    assert.equal(running.remove(first), false);
    assert.equal(running.get('j'), second, 'the new attempt is still heartbeated');
    assert.equal(running.remove(second), true);
    assert.equal(running.count('q'), 0);
    assert.equal(running.size, 0);
  });
});
