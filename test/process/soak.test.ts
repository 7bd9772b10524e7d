/** The 60-second soak (npm run soak runs it for as long as you like), and the rules that judge it. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { judge, soak, type SoakInterval } from '../../bench/soak.js';

const steady = (p99s: number[], rss = 80): SoakInterval[] =>
  p99s.map((p99Ms, index) => ({ index, enqueued: 3000, errors: 0, p99Ms, rssMB: rss }));

it('judge: one noisy interval is not drift; a sustained rise, a stall, RSS growth and failed requests are', () => {
  assert.deepEqual(judge(steady([5.7, 6, 15.9, 6.1, 5.9, 6])), []);
  assert.match(judge(steady([5, 5, 5, 20, 22, 25])).join(), /p99 drifted/);
  assert.match(judge(steady([5, 5, 5, 5, 150, 5])).join(), /stall/);
  // A stall is the server's when its event loop shows it; a client-side spike while the loop ran freely is not.
  const spike = steady([5, 5, 5, 5, 150, 5]);
  assert.deepEqual(judge(spike.map((x) => ({ ...x, loopMaxMs: 12 }))), []);
  assert.match(judge(spike.map((x, i) => ({ ...x, loopMaxMs: i === 4 ? 140 : 12 }))).join(), /interval 4 is 150\.00 ms, a stall .*event loop held 140 ms/);
  const growing = steady([5, 5, 5, 5, 5, 5]).map((x, i) => ({ ...x, rssMB: 80 + 40 * i }));
  assert.match(judge(growing).join(), /RSS grew/);
  assert.match(judge(steady([5, 5, 5]).map((x) => ({ ...x, errors: 1 }))).join(), /3 requests failed/);
});

it('60 s of steady load on the default server: RSS levels off and p99 holds', async () => {
  const r = await soak({ seconds: 60, rate: 300, intervalS: 10, store: 'sqlite', log: (l) => console.log(l) });
  assert.ok(r.intervals.length >= 5, `measured ${r.intervals.length} intervals`);
  assert.ok(r.intervals.every((i) => i.enqueued > 0));
  assert.deepEqual(r.problems, []);
});
