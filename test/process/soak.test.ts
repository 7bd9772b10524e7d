/** The 60-second soak (npm run soak runs it for as long as you like). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { soak } from '../../bench/soak.js';

it('60 s of steady load on the default server: RSS levels off and p99 holds', async () => {
  const r = await soak({ seconds: 60, rate: 300, intervalS: 10, store: 'sqlite', log: (l) => console.log(l) });
  assert.ok(r.intervals.length >= 5, `measured ${r.intervals.length} intervals`);
  assert.ok(r.intervals.every((i) => i.enqueued > 0));
  assert.deepEqual(r.problems, []);
});
