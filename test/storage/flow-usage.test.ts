/** KeyUsage: each concurrency key's recent use, as fair claims weigh it (storage/flow-usage.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyUsage, USAGE_HALF_LIFE_MS } from '../../src/storage/flow-usage.js';

const T0 = 1_000_000;
const running = (entries: [string | null, number][]) => new Map(entries);
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);

describe('KeyUsage', () => {
  it('counts what ran after the previous claim (its reading and its picks) until now, in slot-milliseconds', () => {
    const u = new KeyUsage();
    assert.equal(u.observe('q', running([['a', 2]]), T0)('a'), 0, 'nothing has run yet');
    u.started('q', [{ concurrencyKey: 'a' }, { concurrencyKey: null }]);
    const used = u.observe('q', running([]), T0 + 10);
    assert.equal(used('a'), 3 * 10);
    assert.equal(used(null), 1 * 10, 'the keyless group is a key of its own');
    assert.equal(used('b'), 0, 'a key never seen has used nothing');
    assert.equal(u.observe('other', running([]), T0 + 10)('a'), 0, 'queues are kept apart');
  });

  it('halves past use every half-life, and adds new use to what is left of the old', () => {
    const u = new KeyUsage();
    u.observe('q', running([['a', 1]]), T0);
    close(u.observe('q', running([]), T0 + 100)('a'), 100);
    close(u.observe('q', running([]), T0 + 100 + USAGE_HALF_LIFE_MS)('a'), 50);
    u.observe('q', running([['a', 2]]), T0 + 100 + 2 * USAGE_HALF_LIFE_MS);
    close(u.observe('q', running([]), T0 + 110 + 2 * USAGE_HALF_LIFE_MS)('a'), 25 * 2 ** (-10 / USAGE_HALF_LIFE_MS) + 2 * 10);
  });

  it('lets no time pass when the clock steps back', () => {
    const u = new KeyUsage();
    u.observe('q', running([['a', 1]]), T0);
    const before = u.observe('q', running([['a', 1]]), T0 + 50)('a');
    assert.equal(u.observe('q', running([['a', 5]]), T0)('a'), before, 'an earlier clock adds and decays nothing');
  });

  it('keeps a bounded number of keys however many come and go, and never forgets one still running', () => {
    const u = new KeyUsage();
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      // Key k<i> runs one job for 5 ms; "steady" runs throughout.
      u.observe('q', running([[`k${i}`, 1], ['steady', 1]]), now);
      now += 5;
    }
    const used = u.observe('q', running([['steady', 1]]), now);
    assert.ok(u.keysKept('q') <= 4096, `${u.keysKept('q')} keys kept`);
    assert.ok(used('steady') > 1000, 'the running key keeps its use');
    assert.ok(used(`k${19_999}`) > 0, 'a key that ran just now is still known');
  });
});
