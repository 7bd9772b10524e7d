/** Cron schedules on a fake clock: validation, slots on time, catch-up after downtime, one job per slot with racing leaders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJobqError } from '../../src/contracts/errors.js';
import { scheduler, slotKey } from '../../src/core/schedules/scheduler.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { fakeJobq } from '../helpers/jobq-harness.js';
import pino from 'pino';

const MIN = 60_000;

describe('schedules', () => {
  it('refuses a bad cron or time zone, naming the field and why; an unchanged upsert keeps its runs', async () => {
    const { jobq } = fakeJobq({ queues: {} });
    await assert.rejects(jobq.schedules.upsert({ name: 'x', cron: '99 * * * *', job: { type: 't' } }), (e) => isJobqError(e, 'invalid_request') && /cron .*minute/.test(e.message));
    await assert.rejects(jobq.schedules.upsert({ name: 'x', cron: '* * * * *', tz: 'Mars/Base', job: { type: 't' } }), (e) => isJobqError(e, 'invalid_request') && /tz "Mars\/Base"/.test(e.message));
    await assert.rejects(jobq.schedules.upsert({ name: 'x', cron: '* * * * *', job: { type: 'bad type!' } }), (e) => isJobqError(e, 'invalid_request') && /type/.test(e.message));
    await assert.rejects(jobq.schedules.upsert({ name: 'x', cron: '* * * * *', catchUp: 'some' as never, job: { type: 't' } }), (e) => isJobqError(e, 'invalid_request') && /catchUp/.test(e.message));
    const first = await jobq.schedules.upsert({ name: 'x', cron: '*/5 * * * *', job: { type: 't' } });
    assert.equal(first.changed, true);
    const again = await jobq.schedules.upsert({ name: 'x', cron: '*/5 * * * *', job: { type: 't' } });
    assert.equal(again.changed, false);
    assert.equal(again.schedule.nextRunAt, first.schedule.nextRunAt);
    await jobq.close();
  });

  it('enqueues exactly one job per slot, on time, keyed by the slot; shows next and last run', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const t0 = clock.now(); // 2030-01-01T00:00:00Z
    await jobq.schedules.upsert({ name: 'every5', cron: '*/5 * * * *', tz: 'UTC', job: { type: 'report', payload: { r: 1 }, queue: 'cron' } });
    await jobq.start();
    await clock.advance(16 * MIN);
    const jobs = (await jobq.list({ queue: 'cron', limit: 100 })).jobs;
    assert.deepEqual(jobs.map((j) => j.key), [5, 10, 15].map((m) => slotKey('every5', t0 + m * MIN)));
    const s = await jobq.schedules.get('every5');
    assert.equal(s?.lastRunAt, t0 + 15 * MIN);
    assert.equal(s?.nextRunAt, t0 + 20 * MIN);
    assert.equal(s?.lastJobId, jobs.at(-1)?.id);
    await jobq.close();
  });

  for (const [catchUp, expected] of [['none', 0], ['latest', 1], ['all', 12]] as const) {
    it(`after an hour with no leader, catchUp '${catchUp}' enqueues ${expected} of the 12 missed slots, then runs on time`, async () => {
      const { jobq, clock } = fakeJobq({ queues: {} });
      const t0 = clock.now();
      await jobq.schedules.upsert({ name: 'h', cron: '*/5 * * * *', tz: 'UTC', catchUp, job: { type: 'tick', queue: 'cron' } });
      await clock.advance(61 * MIN); // nothing runs the scheduler meanwhile
      await jobq.start();
      await clock.advance(0);
      const missed = (await jobq.list({ queue: 'cron', limit: 100 })).jobs;
      assert.equal(missed.length, expected);
      if (catchUp === 'latest') assert.equal(missed[0]?.key, slotKey('h', t0 + 60 * MIN));
      await clock.advance(5 * MIN);
      assert.equal((await jobq.list({ queue: 'cron', limit: 100 })).jobs.length, expected + 1, 'the next slot runs on time');
      await jobq.close();
    });
  }

  it('two leaders racing over one store enqueue each slot once', async () => {
    const { jobq, clock, store } = fakeJobq({ queues: {} });
    const t0 = clock.now();
    await jobq.schedules.upsert({ name: 'race', cron: '* * * * *', tz: 'UTC', catchUp: 'all', job: { type: 't', queue: 'cron' } });
    const logger = pino({ level: 'silent' });
    const enqueue = (inputs: Parameters<typeof jobq.enqueueMany>[0]) => jobq.enqueueMany(inputs);
    const a = scheduler({ store, clock, logger, intervalMs: 1000, isLeader: () => true, enqueue });
    const b = scheduler({ store, clock, logger, intervalMs: 1000, isLeader: () => true, enqueue });
    await clock.advance(10 * MIN);
    await Promise.all([a.runNow(), b.runNow(), a.runNow(), b.runNow()]);
    const keys = (await jobq.list({ queue: 'cron', limit: 100 })).jobs.map((j) => j.key);
    assert.deepEqual(keys, Array.from({ length: 10 }, (_, i) => slotKey('race', t0 + (i + 1) * MIN)));
    assert.ok(store instanceof MemoryStore);
    await jobq.close();
  });

  it('pause stops the slots; resume starts from the next slot after now', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    await jobq.schedules.upsert({ name: 'p', cron: '* * * * *', tz: 'UTC', job: { type: 't', queue: 'cron' } });
    await jobq.start();
    await clock.advance(2 * MIN);
    const paused = await jobq.schedules.setPaused('p', true);
    assert.equal(paused.nextRunAt, null);
    await clock.advance(5 * MIN);
    assert.equal((await jobq.list({ queue: 'cron', limit: 100 })).jobs.length, 2);
    const resumed = await jobq.schedules.setPaused('p', false);
    assert.equal(resumed.nextRunAt, clock.now() + MIN);
    await clock.advance(MIN);
    assert.equal((await jobq.list({ queue: 'cron', limit: 100 })).jobs.length, 3);
    assert.equal(await jobq.schedules.remove('p'), true);
    await assert.rejects(jobq.schedules.setPaused('p', true), (e) => isJobqError(e, 'not_found'));
    await jobq.close();
  });

  it('schedules declared in the options are upserted at start, idempotently', async () => {
    const { jobq, clock } = fakeJobq({ queues: {}, schedules: [{ name: 'decl', cron: '0 * * * *', job: { type: 't' } }] });
    await jobq.start();
    const s = await jobq.schedules.get('decl');
    assert.equal(s?.nextRunAt, clock.now() + 60 * MIN);
    await jobq.close();
  });
});
