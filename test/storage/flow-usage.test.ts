/** KeyUsage: each concurrency key's recent use, as fair claims weigh it (storage/flow-usage.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyUsage, USAGE_HALF_LIFE_MS } from '../../src/storage/flow-usage.js';

const T0 = 1_000_000;
const running = (entries: [string | null, number][]) => new Map(entries);

describe('KeyUsage', () => {
  it('counts what ran after the previous claim (its reading and its picks) until now, in slot-milliseconds', () => {
    const u = new KeyUsage();
    assert.equal(u.observe('q', running([['a', 2]]), T0).size, 0, 'nothing has run yet');
    u.started('q', [{ concurrencyKey: 'a' }, { concurrencyKey: null }]);
    const used = u.observe('q', running([]), T0 + 10);
    assert.equal(used.get('a'), 3 * 10);
    assert.equal(used.get(null), 1 * 10, 'the keyless group is a key of its own');
    assert.equal(u.observe('other', running([]), T0 + 10).size, 0, 'queues are kept apart');
  });

  it('halves past use every half-life, and forgets an idle key once its use is below one slot-millisecond', () => {
    const u = new KeyUsage();
    u.observe('q', running([['a', 1]]), T0);
    u.observe('q', running([]), T0 + 100);
    const halved = u.observe('q', running([]), T0 + 100 + USAGE_HALF_LIFE_MS);
    assert.ok(Math.abs(halved.get('a')! - 50) < 1e-9, `${halved.get('a')}`);
    const gone = u.observe('q', running([]), T0 + 100 + USAGE_HALF_LIFE_MS * 7);
    assert.equal(gone.has('a'), false);
  });

  it('keeps a running key however small its use, and lets no time pass when the clock steps back', () => {
    const u = new KeyUsage();
    u.observe('q', running([['a', 1]]), T0);
    u.observe('q', running([]), T0 + 1);
    const kept = u.observe('q', running([['a', 1]]), T0 + 1 + USAGE_HALF_LIFE_MS * 10);
    assert.ok(kept.get('a')! < 0.01, `${kept.get('a')}`);
    const before = kept.get('a')!;
    assert.equal(u.observe('q', running([['a', 5]]), T0).get('a'), before, 'an earlier clock adds and decays nothing');
  });
});
