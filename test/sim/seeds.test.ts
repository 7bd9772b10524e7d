/** CI runs the deterministic simulator over 500 seeds; a failure names the command that replays it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate } from './simulator.js';

const SEEDS = 500;
const STEPS = 200;
const CHUNK = 50;

describe(`deterministic simulation: ${SEEDS} seeds × ${STEPS} steps`, () => {
  for (let first = 1; first <= SEEDS; first += CHUNK) {
    it(`seeds ${first}–${first + CHUNK - 1}: every invariant holds`, async () => {
      for (let seed = first; seed < first + CHUNK; seed++) {
        const r = await simulate(seed, STEPS);
        assert.deepEqual(r.violations, [], `seed ${seed} broke an invariant; replay: npm run sim -- --seed ${seed} --steps ${STEPS}`);
        assert.ok(r.stats.acknowledged > 0 && r.stats.runs > 0, `seed ${seed} did no work`);
      }
    });
  }
});
