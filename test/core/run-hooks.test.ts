/** jobq.onRun: wrappers around every handler run of one Jobq, composed, removable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeJobq } from '../helpers/jobq-harness.js';

describe('jobq.onRun', () => {
  it('wraps every run, handlers registered later included; wrappers compose, the first added outermost', async () => {
    const { jobq, clock } = fakeJobq();
    const trail: string[] = [];
    jobq.onRun(async (job, run) => {
      trail.push(`outer in ${job.type}`);
      const out = await run();
      trail.push(`outer out ${String(out)}`);
      return out;
    });
    jobq.onRun(async (_job, run) => {
      trail.push('inner in');
      const out = await run();
      trail.push('inner out');
      return `${String(out)}!`;
    });
    jobq.register('late', () => {
      trail.push('handler');
      return 'done';
    });
    await jobq.start();
    const job = await jobq.enqueue({ type: 'late' });
    await clock.advance(0);
    assert.deepEqual(trail, ['outer in late', 'inner in', 'handler', 'inner out', 'outer out done!']);
    assert.equal((await jobq.get(job.id))?.result, 'done!', "what the wrappers return is the attempt's result");
    await jobq.close();
  });

  it('sees a handler throw (synchronously too) as a rejection; a wrapper that throws fails the attempt', async () => {
    const { jobq, clock } = fakeJobq();
    const seen: string[] = [];
    let failWrapper = false;
    jobq.onRun(async (_job, run) => {
      if (failWrapper) throw new Error('wrapper broke');
      try {
        return await run();
      } catch (err) {
        seen.push((err as Error).message);
        throw err;
      }
    });
    jobq.register('sync-throw', () => {
      throw new Error('thrown at once');
    });
    jobq.register('ok', () => 'fine');
    await jobq.start();
    const a = await jobq.enqueue({ type: 'sync-throw', maxAttempts: 1 });
    await clock.advance(0);
    assert.deepEqual(seen, ['thrown at once']);
    assert.equal((await jobq.get(a.id))?.errors[0]?.message, 'thrown at once');
    failWrapper = true;
    const b = await jobq.enqueue({ type: 'ok', maxAttempts: 1 });
    await clock.advance(0);
    const failed = await jobq.get(b.id);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.errors[0]?.message, 'wrapper broke');
    await jobq.close();
  });

  it('stops wrapping once removed (removing twice is harmless)', async () => {
    const { jobq, clock } = fakeJobq();
    let wrapped = 0;
    const remove = jobq.onRun((_job, run) => {
      wrapped++;
      return run();
    });
    jobq.register('work', () => 1);
    await jobq.start();
    await jobq.enqueue({ type: 'work' });
    await clock.advance(0);
    assert.equal(wrapped, 1);
    remove();
    remove();
    const job = await jobq.enqueue({ type: 'work' });
    await clock.advance(0);
    assert.equal((await jobq.get(job.id))?.status, 'completed');
    assert.equal(wrapped, 1);
    await jobq.close();
  });
});
