// Runs every compiled *.test.js under dist/test with node's test runner.
// (Node 20's `node --test <dir>` would also run helpers, so the files are listed explicitly.)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filter = process.argv[2];
const files = readdirSync(testDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js') && (!filter || f.includes(filter)))
  .sort()
  .map((f) => relative(root, join(testDir, f)));
if (files.length === 0) {
  console.error(`no test files match ${filter ?? '*.test.js'}`);
  process.exit(1);
}
// Tests that judge timing (the soak's p99 per interval) run after the rest, alone: on 2 cores a
// neighbour starting ten nodes or restarting Postgres stalled the soak's server for 174 ms.
const ALONE = ['process/soak.test.js'];
const alone = files.filter((f) => ALONE.some((a) => f.endsWith(a)));
const together = files.filter((f) => !alone.includes(f));
let status = 0;
for (const [batch, concurrency] of [
  [together, 2],
  [alone, 1],
]) {
  if (batch.length === 0) continue;
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...batch], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
