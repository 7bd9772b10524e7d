/** Unique keys, dependencies and flows through the library, on a fake clock with real worker pools. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError } from '../../src/contracts/errors.js';
import type { JobEvent } from '../../src/contracts/events.js';
import { fakeJobq } from '../helpers/jobq-harness.js';

describe('keys, dependencies, flows', () => {
  it('an enqueue with a held key answers the holder, deduplicated; replace debounces a job that has not started', async () => {
    const { jobq } = fakeJobq({ queues: {} });
    const a = await jobq.enqueue({ type: 'mail', key: 'user-7-welcome', payload: { v: 1 }, delayMs: 60_000 });
    assert.equal(a.deduplicated, false);
    const b = await jobq.enqueue({ type: 'mail', key: 'user-7-welcome', payload: { v: 2 } });
    assert.deepEqual([b.id, b.deduplicated, b.replaced, b.payload], [a.id, true, false, { v: 1 }]);
    const c = await jobq.enqueue({ type: 'mail', key: 'user-7-welcome', payload: { v: 3 }, delayMs: 120_000, onConflict: 'replace' });
    assert.deepEqual([c.id, c.deduplicated, c.replaced, c.payload], [a.id, true, true, { v: 3 }]);
    const batch = await jobq.enqueueMany([{ type: 'x', key: 'k' }, { type: 'x', key: 'k' }, { type: 'x' }]);
    assert.deepEqual(batch.map((j) => j.deduplicated), [false, true, false]);
    assert.equal(batch[1]!.id, batch[0]!.id);
    await assert.rejects(jobq.enqueue({ type: 'x', uniqueForMs: 5 }), (e) => isJobqError(e, 'invalid_request') && /needs a key/.test(e.message));
    await jobq.close();
  });

  it('enqueueManyShort answers what enqueueMany would, in short: ids, statuses, run times, held keys', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const held = await jobq.enqueue({ type: 'mail', key: 'k1', payload: { v: 1 } });
    const events: JobEvent[] = [];
    jobq.events.subscribe((e) => events.push(e));
    const short = await jobq.enqueueManyShort([
      { type: 'x' },
      { type: 'x', queue: 'later', delayMs: 5_000 },
      { type: 'mail', key: 'k1' },
      { type: 'y', dependsOn: [0] },
    ]);
    assert.deepEqual(
      short.map((j) => [j.queue, j.type, j.status, j.deduplicated]),
      [['default', 'x', 'pending', false], ['later', 'x', 'scheduled', false], ['default', 'mail', 'pending', true], ['default', 'y', 'waiting', false]],
    );
    assert.equal(short[2]!.id, held.id);
    assert.equal(short[1]!.runAt, clock.now() + 5_000);
    for (const j of short) {
      const stored = (await jobq.get(j.id))!;
      assert.deepEqual([j.queue, j.type, j.status, j.runAt], [stored.queue, stored.type, stored.status, stored.runAt]);
    }
    // Events as for enqueueMany: one `enqueued` per new job, none for the held key.
    assert.deepEqual(events.filter((e) => e.kind === 'enqueued').map((e) => e.jobId), [short[0]!.id, short[1]!.id, short[3]!.id]);
    await jobq.close();
  });

  it('a flow: the parent waits for its children, then reads their results in order', async () => {
    const { jobq, clock } = fakeJobq();
    const seen: unknown[] = [];
    jobq.register('part', (job) => `part ${(job.payload as { n: number }).n}`);
    jobq.register('merge', async (_job, ctx) => {
      seen.push((await ctx.dependencies()).map((d) => d.result));
      return 'merged';
    });
    const events: JobEvent[] = [];
    jobq.events.subscribe((e) => events.push(e));
    await jobq.start();
    const tree = await jobq.flow({ job: { type: 'merge' }, children: [{ job: { type: 'part', payload: { n: 1 } } }, { job: { type: 'part', payload: { n: 2 } } }] });
    assert.equal(tree.job.status, 'waiting');
    assert.deepEqual(tree.job.dependsOn, tree.children.map((c) => c.job.id));
    await clock.advance(0);
    await clock.advance(10);
    assert.deepEqual(seen, [['part 1', 'part 2']]);
    assert.equal((await jobq.get(tree.job.id))?.status, 'completed');
    const parentKinds = events.filter((e) => e.jobId === tree.job.id).map((e) => e.kind);
    assert.deepEqual(parentKinds, ['enqueued', 'ready', 'started', 'completed']);
    await jobq.close();
  });

  it("a failed dependency fails its dependent (policy 'fail'), naming it; an unknown dependency is refused", async () => {
    const { jobq, clock } = fakeJobq();
    jobq.register('boom', () => {
      throw new Error('no');
    });
    jobq.register('after', () => 'never');
    await jobq.start();
    const [dep, dependent] = await jobq.enqueueMany([{ type: 'boom', maxAttempts: 1 }, { type: 'after', dependsOn: [0] }]);
    await clock.advance(0);
    await clock.advance(10);
    const d = await jobq.get(dependent!.id);
    assert.equal(d?.status, 'failed');
    assert.match(d?.errors[0]?.message ?? '', new RegExp(`dependency ${dep!.id} failed`));
    await assert.rejects(jobq.enqueue({ type: 'after', dependsOn: ['01920000-0000-7000-8000-0000000000aa'] }), (e) => isJobqError(e, 'unknown_dependency'));
    await assert.rejects(jobq.enqueueMany([{ type: 'a', dependsOn: [1] }, { type: 'b' }]), (e) => isJobqError(e, 'invalid_request') && /earlier job/.test(e.message));
    await jobq.close();
  });
});
