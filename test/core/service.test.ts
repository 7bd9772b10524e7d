/** PeriodicService: ticks on its interval, only while `when` holds, and keeps ticking after `when` turns true. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { PeriodicService } from '../../src/core/services/service.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('PeriodicService', () => {
  it('a service that skipped its ticks (not the leader) ticks once it may (found by the simulator: cron stopped after the first leader change)', async () => {
    const clock = new FakeClock();
    let leader = false;
    let ticks = 0;
    const s = new PeriodicService({ name: 't', clock, logger: pino({ level: 'silent' }), intervalMs: 100, when: () => leader, tick: async () => void ticks++ });
    s.start();
    await clock.advance(0);
    await clock.advance(100);
    assert.equal(ticks, 0, 'no tick while not leading');
    leader = true;
    await clock.advance(100);
    await clock.advance(100);
    assert.equal(ticks, 2);
    await s.runNow();
    assert.equal(ticks, 3, 'runNow ticks too');
    await s.stop();
  });

  it('runNow joins a tick under way instead of starting a second one', async () => {
    const clock = new FakeClock();
    let ticks = 0;
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const s = new PeriodicService({ name: 't', clock, logger: pino({ level: 'silent' }), intervalMs: 1000, tick: () => (++ticks === 1 ? first : Promise.resolve()) });
    const a = s.runNow();
    const b = s.runNow();
    assert.equal(a, b);
    assert.equal(ticks, 1);
    release();
    await a;
    await s.runNow();
    assert.equal(ticks, 2, 'once the first settled, the next runNow ticks again');
  });
});
