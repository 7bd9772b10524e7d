/** Flow control through the library: the loop wakes when a limit lets the next job start, throttled handlers, settings checks, limits across nodes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError, RateLimitedError } from '../../src/contracts/errors.js';
import type { JobEvent } from '../../src/contracts/events.js';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { fakeJobq } from '../helpers/jobq-harness.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('flow control through the library', () => {
  it('a rate-limited loop wakes when the window lets the next job start, not at its next poll', async () => {
    const { jobq, clock } = fakeJobq({ pollIntervalMs: 60_000, queues: { default: { concurrency: 10 } } });
    const t0 = clock.now();
    const starts: number[] = [];
    jobq.register('call', () => void starts.push(clock.now() - t0));
    await jobq.queues.configure('default', { rateLimit: { max: 2, intervalMs: 1000 } });
    await jobq.start();
    await jobq.enqueueMany(Array.from({ length: 6 }, () => ({ type: 'call' })));
    await clock.advance(0);
    assert.deepEqual(starts, [0, 0]);
    await clock.advance(999);
    assert.deepEqual(starts, [0, 0]);
    await clock.advance(1);
    assert.deepEqual(starts, [0, 0, 1000, 1000]);
    await clock.advance(1000);
    assert.deepEqual(starts, [0, 0, 1000, 1000, 2000, 2000]);
    await jobq.close();
  });

  it('a full per-key slot frees when its job ends, and the next job of that key starts then', async () => {
    const { jobq, clock } = fakeJobq({ pollIntervalMs: 60_000, queues: { default: { concurrency: 10 } } });
    const log: string[] = [];
    jobq.register('send', async (job) => {
      const { key, n } = job.payload as { key: string; n: number };
      log.push(`${key}${n}`);
      await new Promise<void>((r) => clock.setTimer(r, 100));
    });
    await jobq.queues.configure('default', { perKeyConcurrency: 1 });
    await jobq.start();
    await jobq.enqueueMany([1, 2, 3].flatMap((n) => ['a', 'b'].map((key) => ({ type: 'send', concurrencyKey: key, payload: { key, n } }))));
    await clock.advance(0);
    assert.deepEqual([...log].sort(), ['a1', 'b1']);
    await clock.advance(100);
    await clock.advance(0);
    assert.deepEqual(log.slice(2).sort(), ['a2', 'b2']);
    await clock.advance(100);
    await clock.advance(0);
    assert.deepEqual(log.slice(4).sort(), ['a3', 'b3']);
    await clock.advance(100);
    await jobq.close();
  });

  it('RateLimitedError puts the job back without spending an attempt and holds its key for retryAfterMs', async () => {
    const { jobq, clock } = fakeJobq({ pollIntervalMs: 60_000, queues: { default: { concurrency: 10 } } });
    const t0 = clock.now();
    const runs: string[] = [];
    let throttle = true;
    jobq.register('api', (job) => {
      runs.push(`${(job.payload as { k: string }).k}@${clock.now() - t0}#${job.attempts}`);
      if (throttle && (job.payload as { k: string }).k === 'x') {
        throttle = false;
        throw new RateLimitedError({ retryAfterMs: 5000 });
      }
    });
    const events: JobEvent[] = [];
    jobq.events.subscribe((e) => events.push(e));
    await jobq.start();
    const [x] = await jobq.enqueueMany([{ type: 'api', rateKey: 'x', maxAttempts: 1, payload: { k: 'x' } }]);
    await clock.advance(0);
    // A second job of the held key waits; one of another key does not.
    await jobq.enqueueMany([{ type: 'api', rateKey: 'x', payload: { k: 'x' } }, { type: 'api', rateKey: 'y', payload: { k: 'y' } }]);
    await clock.advance(0);
    assert.deepEqual(runs, ['x@0#1', 'y@0#1']);
    const back = await jobq.get(x!.id);
    assert.equal(back?.status, 'scheduled');
    assert.equal(back?.attempts, 0, 'a throttle spends no attempt: maxAttempts 1 still runs again');
    assert.ok(events.some((e) => e.jobId === x!.id && e.kind === 'throttled'), 'a throttled event');
    await clock.advance(5000);
    await clock.advance(0);
    assert.deepEqual(runs.slice(2).sort(), ['x@5000#1', 'x@5000#1']);
    assert.equal((await jobq.get(x!.id))?.status, 'completed');
    await jobq.close();
  });

  it('settings are checked and merged: a bad limit is an invalid_request naming the field; null removes a limit', async () => {
    const { jobq } = fakeJobq();
    for (const [input, field] of [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ perKeyConcurrency: -1 }, 'perKeyConcurrency'],
      [{ rateLimit: { max: 0, intervalMs: 1000 } }, 'rateLimit.max'],
      [{ rateLimit: { max: 5 } }, 'rateLimit.intervalMs'],
      [{ perKeyRateLimit: { max: 1, intervalMs: 1000, burst: 2 } }, 'perKeyRateLimit.burst'],
      [{ speed: 3 }, 'speed'],
    ] as const) {
      await assert.rejects(jobq.queues.configure('q', input as never), (e) => isJobqError(e, 'invalid_request') && (e.details as { field?: string }).field === field, JSON.stringify(input));
    }
    assert.deepEqual(await jobq.queues.configure('q', { concurrency: 3, rateLimit: { max: 10, intervalMs: 1000 } }), {
      concurrency: 3,
      perKeyConcurrency: null,
      rateLimit: { max: 10, intervalMs: 1000 },
      perKeyRateLimit: null,
    });
    assert.deepEqual(await jobq.queues.configure('q', { concurrency: null, perKeyConcurrency: 2 }), {
      concurrency: null,
      perKeyConcurrency: 2,
      rateLimit: { max: 10, intervalMs: 1000 },
      perKeyRateLimit: null,
    });
    const [q] = (await jobq.queues.list()).queues;
    assert.deepEqual(q?.settings, await jobq.queues.settings('q'));
    await jobq.close();
  });

  it('two nodes on one SQLite file never run more than the queue and key limits, and finish every job', async () => {
    const dir = tempDir();
    let running = 0;
    let peak = 0;
    const perKey = new Map<string, number>();
    let keyPeak = 0;
    const handler = async (job: { concurrencyKey: string | null }) => {
      const k = job.concurrencyKey!;
      running++;
      perKey.set(k, (perKey.get(k) ?? 0) + 1);
      peak = Math.max(peak, running);
      keyPeak = Math.max(keyPeak, perKey.get(k)!);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      perKey.set(k, perKey.get(k)! - 1);
    };
    const nodes = [0, 1].map(
      () => new Jobq({ store: new SqliteStore({ path: dir.file('jobs.db') }), handlers: { work: handler }, queues: { default: { concurrency: 8 } }, pollIntervalMs: 50 }),
    );
    try {
      await nodes[0]!.queues.configure('default', { concurrency: 4, perKeyConcurrency: 1 });
      for (const n of nodes) await n.start();
      await nodes[0]!.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ type: 'work', concurrencyKey: `k${i % 6}` })));
      await waitFor(async () => (await nodes[0]!.queues.list()).queues[0]?.counts.completed === 120, { what: '120 completed', timeoutMs: 30_000 });
      assert.ok(peak <= 4, `peak ${peak} running, over the queue's 4`);
      assert.equal(keyPeak, 1, 'never two jobs of one key at once');
      assert.ok(peak >= 2, `jobs did run side by side (peak ${peak})`);
    } finally {
      for (const n of nodes) await n.close();
      dir.remove();
    }
  });
});
