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
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
