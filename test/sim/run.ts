/** `npm run sim -- --seed N --steps M [--seeds K]`: runs the simulator and prints one line per seed. */
import { simulate } from './simulator.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const first = flag('seed', 1);
const seeds = flag('seeds', 1);
const steps = flag('steps', 300);
let failed = 0;
for (let seed = first; seed < first + seeds; seed++) {
  const r = await simulate(seed, steps);
  const line = `seed ${seed}: ${r.violations.length === 0 ? 'ok' : 'VIOLATION'} ${JSON.stringify(r.stats)}`;
  console.log(line);
  if (r.violations.length > 0) {
    failed++;
    for (const v of r.violations) console.log(`  ${v}`);
    console.log(`  replay: npm run sim -- --seed ${seed} --steps ${steps}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
