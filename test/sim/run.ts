/**
 * `npm run sim -- --seed N --steps M [--seeds K] [--store memory|sqlite] [--cut-in P]`:
 * runs the simulator and prints one line per seed (with its time), the
 * violations of a failing seed and the command that replays it.
 */
import { DEFAULT_CUT_IN, simulate, type StoreKind } from './simulator.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const first = Number(flag('seed', '1'));
const seeds = Number(flag('seeds', '1'));
const steps = Number(flag('steps', '300'));
const store = flag('store', 'memory');
const cutIn = Number(flag('cut-in', String(DEFAULT_CUT_IN)));
if (!(cutIn >= 0 && cutIn <= 1)) {
  console.error(`--cut-in takes a probability from 0 to 1, got ${flag('cut-in', '')}`);
  process.exit(2);
}
if (store !== 'memory' && store !== 'sqlite') {
  console.error(`--store must be memory or sqlite, got ${store}`);
  process.exit(2);
}
if (![first, seeds, steps].every((n) => Number.isSafeInteger(n) && n >= 0)) {
  console.error('--seed, --seeds and --steps take non-negative integers');
  process.exit(2);
}
let failed = 0;
const started = performance.now();
for (let seed = first; seed < first + seeds; seed++) {
  const t = performance.now();
  const r = await simulate(seed, steps, { store: store as StoreKind, cutIn });
  const ms = Math.round(performance.now() - t);
  console.log(`seed ${seed} (${store}, ${steps} steps, ${ms} ms): ${r.violations.length === 0 ? 'ok' : 'VIOLATION'} ${JSON.stringify(r.stats)}`);
  for (const [id, n] of Object.entries(r.knownBugs)) console.log(`  known bug ${id} seen ${n} times (see test/sim/known-bugs.ts)`);
  if (r.violations.length > 0) {
    failed++;
    for (const v of r.violations) console.log(`  ${v}`);
    console.log(`  replay: ${r.replay}`);
  }
}
if (seeds > 1) console.log(`${seeds - failed} of ${seeds} seeds ok in ${Math.round(performance.now() - started)} ms`);
process.exit(failed > 0 ? 1 : 0);
