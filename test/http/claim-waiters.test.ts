/** ClaimWaiters (http/routes/claim-waiters.ts): a long poll's sleep ends at its deadline by the wall clock, not before. */
import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { Jobq } from '../../src/core/jobq.js';
import { ClaimWaiters } from '../../src/http/routes/claim-waiters.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';

describe('ClaimWaiters', () => {
  afterEach(() => mock.restoreAll());

  it('sleeps out the rest when its timer fires while the wall clock is still short of the deadline', async () => {
    const jobq = new Jobq({ store: new MemoryStore(), queues: {} });
    const waiters = new ClaimWaiters(jobq);
    const waiter = waiters.register('q');
    let wall = 1_000_000;
    mock.method(Date, 'now', () => wall);
    mock.timers.enable({ apis: ['setTimeout'] });
    let ended = false;
    const sleeping = waiter.sleep(100, new AbortController().signal).then(() => (ended = true));
    // Let the sleep read the queue's next due time and arm its timer.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    wall += 99;
    mock.timers.tick(100);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.equal(ended, false, 'the timer fired 1 ms short of the deadline by the wall clock: not over yet');
    wall += 1;
    mock.timers.tick(1);
    await sleeping;
    assert.equal(ended, true);
    mock.timers.reset();
    waiter.dispose();
    waiters.close();
    await jobq.close();
  });
});
