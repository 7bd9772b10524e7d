/**
 * The live feed's resume ring (unit, fake clock, a fake bus): it records
 * while a client is attached and for retainMs after the last one left, so a
 * reconnect gets exactly what it missed; an id it could not have recorded is
 * a gap, never a silent skip. The HTTP resume itself is in http/events.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEvent } from '../../src/contracts/events.js';
import type { Jobq } from '../../src/core/jobq.js';
import { LiveFeed, type FeedEntry } from '../../src/dashboard/live-feed.js';

function setup() {
  let emit: (e: JobEvent) => void = () => assert.fail('the feed did not subscribe');
  const bus = { events: { subscribe: (fn: (e: JobEvent) => void) => ((emit = fn), { unsubscribe() {} }) } } as unknown as Jobq;
  let now = 1_000_000;
  const feed = new LiveFeed(bus, { retainEvents: 100, retainMs: 1000, now: () => now });
  feed.start();
  let n = 0;
  const push = () => {
    const e: JobEvent = { kind: 'enqueued', jobId: `job-${++n}`, queue: 'q', type: 't', attempt: 0, status: 'pending', at: now };
    emit(e);
    return feed.eventId(feed.lastSeq);
  };
  const attach = () => {
    const got: FeedEntry[] = [];
    return { got, detach: feed.attach({ filter: {}, send: (entry) => void got.push(entry) }) };
  };
  return { feed, push, attach, advance: (ms: number) => void (now += ms) };
}

const jobIds = (entries: FeedEntry[] | null) => entries?.map((e) => e.event.jobId) ?? null;

describe('LiveFeed resume ring', () => {
  it('does not record before any client attached: an id from then is a gap', () => {
    const { feed, push, attach } = setup();
    const before = push();
    push();
    attach();
    assert.equal(feed.since(before, {}), null);
  });

  it('gives a reconnecting client what it missed, recorded for retainMs after the last client left', () => {
    const { feed, push, attach, advance } = setup();
    const c = attach();
    push();
    const last = push();
    assert.equal(c.got.length, 2);
    c.detach();
    advance(500);
    push();
    advance(400);
    push();
    assert.deepEqual(jobIds(feed.since(last, {})), ['job-3', 'job-4']);
  });

  it('answers a gap, not a shorter list, when events after the id were not recorded', () => {
    const { feed, push, attach, advance } = setup();
    const c = attach();
    push();
    c.detach();
    advance(600);
    const recorded = push(); // within retainMs of the detach: kept
    advance(500);
    push(); // 1,100 ms after the detach: not recorded
    assert.equal(feed.since(recorded, {}), null);
  });

  it('records again once a client attaches, and drops nothing while one is attached', () => {
    const { feed, push, attach, advance } = setup();
    push();
    advance(5000);
    const c = attach();
    const from = push();
    advance(5000);
    push();
    push();
    assert.equal(c.got.length, 3);
    // job-2 itself has aged out, but everything after it is kept: no gap.
    assert.deepEqual(jobIds(feed.since(from, {})), ['job-3', 'job-4']);
    assert.deepEqual(jobIds(feed.since(feed.eventId(feed.lastSeq - 1), {})), ['job-4']);
  });
});
