// Runs every compiled *.test.js under dist/test with node's test runner.
// (Node 20's `node --test <dir>` would also run helpers, so the files are listed explicitly.)
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
/** Dirty page cache, MB (/proc/meminfo), or null where there is none to read. */
function dirtyMB() {
  try {
    return Number(/^Dirty:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024;
  } catch {
    return null;
  }
}

// The timing-judged batch starts on a flushed disk. The suites before it leave files written without
// fsync; on ext4 (ordered journal) the server's next fdatasync can wait for their writeback, and the
// soak once saw its event loop held 189 ms right after them.
function flushDisk() {
  const dirty = dirtyMB();
  const t0 = performance.now();
  spawnSync('sync');
  console.log(`# before the timing-judged tests: ${dirty === null ? '?' : dirty.toFixed(1)} MB of dirty page cache flushed in ${Math.round(performance.now() - t0)} ms`);
}

let status = 0;
for (const [batch, concurrency] of [
  [together, 2],
  [alone, 1],
]) {
  if (batch.length === 0) continue;
  if (batch === alone) flushDisk();
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...batch], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
