/** Conformance: what crosses processes (wake-ups, events) and the caller's own transactions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEvent } from '../../../src/contracts/events.js';
import { newRecord } from '../../helpers/job-factory.js';
import { waitFor } from '../../helpers/wait-for.js';
import { claim, completed, peer, T0, type Ctx } from './ctx.js';

const ev = (jobId: string): JobEvent => ({ kind: 'completed', jobId, queue: 'default', type: 'test', attempt: 1, status: 'completed', at: T0 });
/** An event with every optional field set: each must cross processes as it was. */
const full = (jobId: string): JobEvent => ({ kind: 'started', jobId, queue: 'default', type: 'test', attempt: 2, status: 'processing', at: T0 + 5, dueAt: T0, runAt: T0 + 1, progress: 0.5, error: 'e' });

export function feedSection(ctx: Ctx): void {
  describe('across processes', () => {
    it("wakes a watcher when another handle commits jobs", async (t) => {
      const other = await peer(ctx);
      if (!other || !ctx.store.watchChanges) return t.skip('not a shared store (memory): nothing crosses processes');
      let woken = 0;
      const stop = ctx.store.watchChanges(() => woken++);
      try {
        // Wait until the watcher is live (the LISTEN connection, the data_version baseline).
        await waitFor(async () => {
          await other.jobInsertMany({ jobs: [newRecord(T0)] });
          return woken > 0;
        }, { what: 'a wake-up after another handle enqueued', timeoutMs: 10_000, intervalMs: 100 });
      } finally {
        stop();
      }
    });

    it("delivers other handles' events (every field intact) to a subscriber, only while it subscribes, never its own", async (t) => {
      const other = await peer(ctx);
      if (!other || !ctx.store.subscribeEvents || !other.publishEvents || !other.remoteSubscribers) return t.skip('not a shared store (memory): events stay in the process');
      const seen: string[] = [];
      const received: JobEvent[] = [];
      const stop = ctx.store.subscribeEvents('me', (events) => {
        seen.push(...events.map((e) => e.jobId));
        received.push(...events);
      });
      try {
        await waitFor(() => other.remoteSubscribers!('them'), { what: 'the publisher to see a subscriber', timeoutMs: 10_000, intervalMs: 50 });
        assert.equal(other.remoteSubscribers!('me'), false, 'a node never counts as its own remote subscriber');
        let n = 0;
        await waitFor(() => {
          other.publishEvents!('them', [ev(`a${n++}`)]);
          return seen.length > 0;
        }, { what: 'an event from the other handle', timeoutMs: 10_000, intervalMs: 100 });
        const big = Array.from({ length: 300 }, (_, i) => ev(`big-${i}`));
        other.publishEvents!('them', big);
        await waitFor(() => big.every((e) => seen.includes(e.jobId)), { what: 'a batch larger than one notification', timeoutMs: 10_000 });
        other.publishEvents!('them', [full('full')]);
        await waitFor(() => seen.includes('full'), { what: 'an event with every field', timeoutMs: 10_000 });
        assert.deepEqual(received.find((e) => e.jobId === 'full'), full('full'));
        ctx.store.publishEvents?.('me', [ev('own')]);
      } finally {
        stop();
      }
      assert.equal(seen.includes('own'), false);
    });
  });

  describe("the caller's own transaction", () => {
    it('inserts and finishes inside it: nothing exists unless it commits', async (t) => {
      const tx = ctx.opened.inTransaction;
      if (!tx || !ctx.store.jobInsertManyWith || !ctx.store.jobFinishWith) return t.skip('this backend has no client transactions to join');
      const rolled = newRecord(T0);
      await tx((c) => ctx.store.jobInsertManyWith!(c, { jobs: [rolled] }), false);
      assert.equal(await ctx.store.jobGet(rolled.id), null, 'rolled back: no job');
      const kept = newRecord(T0);
      await tx((c) => ctx.store.jobInsertManyWith!(c, { jobs: [kept] }), true);
      const [job] = await claim(ctx.store);
      assert.equal(job?.id, kept.id);
      const lease = { id: job!.id, leaseToken: job!.leaseToken, outcome: completed('"done"') };
      await tx((c) => ctx.store.jobFinishWith!(c, { finishes: [lease], now: T0 }), false);
      assert.equal((await ctx.store.jobGet(kept.id))?.status, 'processing', 'rolled back: still running');
      const applied = await tx((c) => ctx.store.jobFinishWith!(c, { finishes: [lease], now: T0 }), true);
      assert.equal(applied.length, 1);
      assert.equal((await ctx.store.jobGet(kept.id))?.result, 'done');
    });
  });
}
