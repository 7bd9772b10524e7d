/**
 * Jobs claimed ahead of the free slots (`queues.<name>.prefetch`,
 * core/worker/claim-ahead.ts): leased and heartbeated while they wait, started
 * in claim order as slots free, never started once cancelled, released
 * unstarted on stop, given back when a slow job keeps the slot ('auto'), and
 * never on a flow-controlled queue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClaimedJobs, JobClaimParams, JobRef, JobReleaseManyParams } from '../../src/contracts/store.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { deferred, fakeJobq } from '../helpers/jobq-harness.js';
import { waitFor } from '../helpers/wait-for.js';

/** A handler that records each job's start and finishes it when the test says. */
function gated() {
  const started: string[] = [];
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  const gate = (name: string) => gates.get(name) ?? gates.set(name, deferred<void>()).get(name)!;
  return {
    started,
    open: (name: string) => gate(name).resolve(),
    handler: async (job: { payload: unknown }) => {
      const name = (job.payload as { name: string }).name;
      started.push(name);
      await gate(name).promise;
    },
  };
}

/** One slot, two jobs claimed ahead, gated handlers; `add` enqueues jobs by name and lets the loop claim. */
function oneSlotTwoAhead(options: { leaseMs?: number } = {}) {
  const { jobq, clock } = fakeJobq({ queues: { default: { concurrency: 1, prefetch: 2 } }, ...options });
  const g = gated();
  jobq.register('work', g.handler);
  const ids: Record<string, string> = {};
  const add = async (...names: string[]) => {
    for (const name of names) ids[name] = (await jobq.enqueue({ type: 'work', payload: { name } })).id;
    await clock.advance(0);
  };
  return { jobq, clock, g, ids, add };
}

describe('prefetch', () => {
  it('holds jobs claimed ahead, leased and heartbeated past their first lease, and starts them in claim order as the slot frees', async () => {
    const { jobq, clock, g, ids, add } = oneSlotTwoAhead({ leaseMs: 3000 });
    // The first claim takes the free slot only: it tells the loop whether the queue is flow-controlled.
    jobq.startWorkers();
    await add('a');
    await add('b', 'c', 'd', 'e');
    assert.deepEqual(g.started, ['a'], 'one slot: one handler');
    const status = async (name: string) => (await jobq.get(ids[name]!))!;
    assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => (await status(n)).status)), ['processing', 'processing', 'processing', 'pending']);
    const firstLease = (await status('b')).leaseExpiresAt!;
    // Past the lease the claim gave, with rescues due: the heartbeats kept it.
    await clock.advance(4000);
    const b = await status('b');
    assert.equal(b.status, 'processing');
    assert.ok(b.leaseExpiresAt! > firstLease, `b's lease was extended (${b.leaseExpiresAt} > ${firstLease})`);
    assert.equal(b.attempts, 1, 'not rescued and claimed again');
    g.open('a');
    await clock.advance(0);
    assert.deepEqual(g.started, ['a', 'b'], 'the first job claimed ahead takes the freed slot');
    assert.equal((await status('d')).status, 'processing', 'and the line is refilled');
    for (const name of ['b', 'c', 'd', 'e']) {
      g.open(name);
      await clock.advance(0);
    }
    assert.deepEqual(g.started, ['a', 'b', 'c', 'd', 'e']);
    for (const name of Object.keys(ids)) {
      const job = await status(name);
      assert.equal(job.status, 'completed', name);
      assert.equal(job.attempts, 1, `${name} ran once`);
    }
    await jobq.close();
  });

  it('a job claimed ahead and cancelled never starts; stop releases the waiting ones at once, attempt unspent, while the running one drains', async () => {
    const { jobq, clock, g, ids, add } = oneSlotTwoAhead();
    jobq.startWorkers();
    await add('a');
    await add('b', 'c', 'd');
    assert.equal((await jobq.list({ status: 'processing' })).jobs.length, 3, 'a runs, b and c wait');
    assert.equal((await jobq.cancel(ids.b!)).status, 'cancelled');
    g.open('a');
    await clock.advance(0);
    assert.deepEqual(g.started, ['a', 'c'], 'the cancelled one is skipped');
    assert.equal((await jobq.get(ids.d!))!.status, 'processing', 'd claimed ahead');
    const stopped = jobq.stop(10_000);
    await clock.advance(0);
    const d = (await jobq.get(ids.d!))!;
    assert.equal(d.status, 'pending', 'released before the drain ends');
    assert.equal(d.attempts, 0, 'its attempt given back');
    assert.equal((await jobq.get(ids.c!))!.status, 'processing', 'the running job drains');
    g.open('c');
    await clock.advance(0);
    await stopped;
    assert.equal((await jobq.get(ids.c!))!.status, 'completed');
    assert.equal((await jobq.get(ids.b!))!.status, 'cancelled');
    assert.deepEqual(g.started, ['a', 'c'], 'neither b nor d started');
    await jobq.close();
  });

  for (const announces of [true, false]) {
    it(`'auto' at concurrency 1 holds quick jobs ahead; when a slow job keeps the slot they go back to the queue, attempt unspent, and none are claimed ahead until it frees (a store that ${announces ? 'announces releases to this node too, as Postgres' : 'does not announce releases to this node, as SQLite'})`, async () => {
      // Claims that take a few real milliseconds: the loop learns that quick jobs finish many times over during one
      // claim's trip. Released jobs are announced to every watcher (when `announces`), this node's own loops too.
      class SlowClaims extends MemoryStore {
        private readonly watchers = new Set<(queues?: readonly string[]) => void>();
        override async jobClaim(p: JobClaimParams): Promise<ClaimedJobs> {
          await new Promise((r) => setTimeout(r, 3));
          return super.jobClaim(p);
        }
        watchChanges(onChange: (queues?: readonly string[]) => void): () => void {
          this.watchers.add(onChange);
          return () => this.watchers.delete(onChange);
        }
        override async jobReleaseMany(p: JobReleaseManyParams): Promise<JobRef[]> {
          const released = await super.jobReleaseMany(p);
          if (announces) for (const w of this.watchers) w(released.map((r) => r.queue));
          return released;
        }
      }
      const { jobq, clock } = fakeJobq({ store: new SlowClaims(), queues: { default: { concurrency: 1 } } });
      const g = gated();
      jobq.register('quick', () => {});
      jobq.register('slow', g.handler);
      const count = async (status: 'completed' | 'processing' | 'pending') => (await jobq.list({ status, limit: 100 })).jobs.length;
      const settle = async () => {
        await clock.advance(0);
        return true;
      };
      await jobq.enqueueMany(Array.from({ length: 20 }, () => ({ type: 'quick', payload: {} })));
      jobq.startWorkers();
      await waitFor(async () => (await settle()) && (await count('completed')) === 20, { what: 'the quick jobs done' });
      // One batch: the slow job first in line, then quick ones.
      const batch = await jobq.enqueueMany([{ type: 'slow', payload: { name: 'slow' } }, ...Array.from({ length: 5 }, () => ({ type: 'quick', payload: {} }))]);
      const ids = batch.map((r) => r.id);
      await waitFor(async () => (await settle()) && g.started.length === 1 && (await count('processing')) === 6, { what: 'the slow job running, five held' });
      assert.equal(await count('completed'), 20, 'the held jobs did not start');
      // Past the floor of the hold (50 ms), with nothing run meanwhile.
      await clock.advance(60);
      await waitFor(async () => (await settle()) && (await count('pending')) === 5, { what: 'the held jobs given back' });
      for (const id of ids.slice(1)) {
        const job = (await jobq.get(id))!;
        assert.equal(job.status, 'pending', 'back in the queue for any worker');
        assert.equal(job.attempts, 0, 'attempt given back');
      }
      // Its slot is still taken (and when the release woke it, the loop did not take them back).
      await new Promise((r) => setTimeout(r, 20));
      await settle();
      assert.equal(await count('processing'), 1, 'only the slow job is leased');
      g.open('slow');
      await waitFor(async () => (await settle()) && (await count('completed')) === 26, { what: 'everything done once the slot freed' });
      for (const id of ids.slice(1)) assert.equal((await jobq.get(id))!.attempts, 1, 'each quick job ran once');
      await jobq.close();
    });
  }

  it('a flow-controlled queue gets nothing claimed ahead, even under a limit that does not bind', async () => {
    const { jobq, clock } = fakeJobq({ queues: { default: { concurrency: 1, prefetch: 2 } } });
    await jobq.queues.configure('default', { concurrency: 100 });
    const g = gated();
    jobq.register('work', g.handler);
    jobq.startWorkers();
    await jobq.enqueue({ type: 'work', payload: { name: 'a' } });
    await clock.advance(0);
    // A second claim, woken by these enqueues, while the slot is taken: it would take two ahead.
    for (const name of ['b', 'c']) await jobq.enqueue({ type: 'work', payload: { name } });
    await clock.advance(0);
    assert.deepEqual(g.started, ['a']);
    assert.equal((await jobq.list({ status: 'processing' })).jobs.length, 1, 'only the running job is leased');
    g.open('a');
    await clock.advance(0);
    assert.equal((await jobq.list({ status: 'processing' })).jobs.length, 1);
    for (const name of ['b', 'c']) g.open(name);
    await clock.advance(0);
    await clock.advance(0);
    assert.deepEqual(g.started, ['a', 'b', 'c']);
    await jobq.close();
  });

  it('prefetch 0 claims no more than the free slots', async () => {
    const { jobq, clock } = fakeJobq({ queues: { default: { concurrency: 2, prefetch: 0 } } });
    const g = gated();
    jobq.register('work', g.handler);
    for (const name of ['a', 'b', 'c', 'd']) await jobq.enqueue({ type: 'work', payload: { name } });
    jobq.startWorkers();
    await clock.advance(0);
    const processing = (await jobq.list({ status: 'processing' })).jobs.length;
    assert.equal(processing, 2);
    for (const name of ['a', 'b', 'c', 'd']) g.open(name);
    await clock.advance(0);
    await clock.advance(0);
    assert.equal(g.started.length, 4);
    await jobq.close();
  });

  it('rejects a prefetch that is not auto or an integer from 0 to 1000', async () => {
    for (const prefetch of [-1, 1.5, 1001, 'fast']) {
      assert.throws(() => fakeJobq({ queues: { default: { prefetch: prefetch as number } } }), { code: 'invalid_option' }, String(prefetch));
    }
  });
});
