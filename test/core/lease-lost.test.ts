/**
 * lease_lost: the node whose worker finds its lease gone says so. Two nodes
 * share one store, each on its own fake clock: node A's clock stands still
 * while B's moves past A's lease (A's event loop stalled), so B's rescuer
 * takes the job back and B runs it again while A's handler still runs. When
 * A comes back, its heartbeat (or its refused finish) finds the lease lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEvent } from '../../src/contracts/events.js';
import type { JobContext } from '../../src/core/handler.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { deferred, fakeJobq } from '../helpers/jobq-harness.js';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

async function stolen(finishFirst: boolean) {
  const store = new MemoryStore();
  const a = fakeJobq({ store, nodeId: 'a' });
  const bClock = new FakeClock(a.clock.now());
  const b = fakeJobq({ store, nodeId: 'b', clock: bClock });
  const events: JobEvent[] = [];
  a.jobq.events.subscribe((e) => events.push(e));
  const metrics = createMetrics(a.jobq, { processMetrics: false });
  const release = deferred<string>();
  let ctxA: JobContext | undefined;
  a.jobq.register('work', (_job, ctx) => {
    ctxA = ctx;
    return release.promise;
  });
  b.jobq.register('work', () => 'from b');
  const job = await a.jobq.enqueue({ type: 'work' });
  await a.jobq.start();
  await a.clock.advance(0);
  assert.equal(a.jobq.runningJobs, 1, 'A runs the job');
  // A stalls (its clock stands still); B lives on past A's 3 s lease, rescues the job and runs it (after its 1 s backoff).
  await b.jobq.start();
  await bClock.advance(6000);
  const done = await b.jobq.get(job.id);
  assert.equal(done?.status, 'completed');
  assert.equal(done?.result, 'from b');
  assert.equal(done?.attempts, 2);
  assert.deepEqual(events.filter((e) => e.kind === 'lease_lost'), [], 'A has not noticed yet');
  if (finishFirst) release.resolve('from a'); // A's handler returns before A's next heartbeat: its finish is refused.
  const back = a.clock.now();
  await a.clock.advance(1000);
  const lost = events.filter((e) => e.kind === 'lease_lost');
  // Found by the first store call A makes for the job: its refused finish, or the heartbeat its rescuer runs first (every 500 ms).
  assert.deepEqual(lost, [{ kind: 'lease_lost', jobId: job.id, queue: 'default', type: 'work', attempt: 1, status: 'completed', at: back + (finishFirst ? 0 : 500) }]);
  if (!finishFirst) assert.equal(ctxA?.signal.reason, 'lease_lost', "A's handler is told");
  assert.equal((await a.jobq.get(job.id))?.result, 'from b', "A's result is dropped");
  assert.equal(value(await metrics.text(), 'jobq_lease_losses_total{queue="default"}'), 1);
  assert.equal(value(await metrics.text(), 'jobq_jobs_rescued_total{queue="default",type="work"}'), undefined, "the rescue was B's, not A's");
  release.resolve('late');
  metrics.close();
  await Promise.all([a.jobq.stop(0), b.jobq.stop(0)]);
  await Promise.all([a.jobq.close(0), b.jobq.close(0)]);
  return events;
}

describe('lease_lost', () => {
  it('a heartbeat that finds the lease gone (rescued and run again elsewhere) emits lease_lost once, counted by the metric', async () => {
    const events = await stolen(false);
    assert.equal(events.filter((e) => e.kind === 'lease_lost').length, 1, 'once, however many heartbeats follow');
  });

  it('a finish refused for a lost lease emits lease_lost', async () => {
    await stolen(true);
  });

  it('is not emitted for a job cancelled elsewhere (its cancelled event says what happened)', async () => {
    const { jobq, clock, store } = fakeJobq();
    const events: JobEvent[] = [];
    jobq.events.subscribe((e) => events.push(e));
    let ctx: JobContext | undefined;
    jobq.register('long', (_job, c) => {
      ctx = c;
      return new Promise(() => {});
    });
    await jobq.start();
    const job = await jobq.enqueue({ type: 'long' });
    await clock.advance(0);
    await store.jobCancel({ id: job.id, from: ['processing'], now: clock.now() });
    await clock.advance(1000);
    assert.equal(ctx?.signal.reason, 'lease_lost');
    assert.deepEqual(events.filter((e) => e.kind === 'lease_lost'), []);
    await jobq.close(0);
  });
});
