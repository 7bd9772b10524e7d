/** The CLI's V8 settings (cli/heap-tuning.ts): applied for the stores they help, never over the operator's own flags. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { keepOldGenerationTight, keepYoungGenerationSmall, tuneWorkerHeapFromStart } from '../../src/cli/heap-tuning.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';

test('the young generation is kept small in jobq worker on SQLite and Postgres, and never over a semi-space flag the operator set', () => {
  assert.equal(keepYoungGenerationSmall('serve', 'sqlite', [], ''), false, 'jobq serve: small scavenges promoted the objects of its requests in flight (GC 602 against 138 ms)');
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', [], ''), true);
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', [], '--max-old-space-size=512'), true, 'another flag');
  assert.equal(keepYoungGenerationSmall('worker', 'postgres', [], ''), true, 'on Postgres it costs a worker 2 % of its drain rate for a third of its peak RSS');
  assert.equal(keepYoungGenerationSmall('worker', 'memory', [], ''), false, 'the memory store holds every job in the heap: small scavenges cost it a quarter of its drain rate');
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', ['--max-semi-space-size=8'], ''), false, 'a node flag');
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', [], '--semi_space_growth_factor=2'), false, 'NODE_OPTIONS, with underscores');
  // Node 20 ignores the growth factor as a node flag: the operator's is applied again at run time, in any mode.
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', ['--semi-space-growth-factor=1'], ''), true, "the operator's 1, as a node flag");
  assert.equal(keepYoungGenerationSmall('serve', 'sqlite', [], '--semi-space-growth-factor 1'), true, "the operator's 1 in NODE_OPTIONS, for serve too");
  assert.equal(keepYoungGenerationSmall('worker', 'postgres', ['--semi-space-growth-factor=4'], ''), false, "the operator's 4");
});

test('jobq worker sets it before the CLI loads, as its store is not known yet; never for another command or over the operator', () => {
  assert.equal(tuneWorkerHeapFromStart(['node', 'main.js', 'worker', '--store', 'sqlite'], [], ''), true);
  assert.equal(tuneWorkerHeapFromStart(['node', 'main.js', 'serve'], [], ''), false);
  assert.equal(tuneWorkerHeapFromStart(['node', 'main.js', 'status', 'worker'], [], ''), false, 'worker as an argument, not the command');
  assert.equal(tuneWorkerHeapFromStart(['node', 'main.js', 'worker'], ['--max-semi-space-size=8'], ''), false, 'a node flag');
  assert.equal(tuneWorkerHeapFromStart(['node', 'main.js', 'worker'], [], '--semi-space-growth-factor=4'), false, "the operator's factor, applied by keepYoungGenerationSmall");
  // Then, with the store known: kept for SQLite, V8's factor put back for the memory store.
  assert.equal(keepYoungGenerationSmall('worker', 'sqlite', [], ''), true);
  assert.equal(keepYoungGenerationSmall('worker', 'memory', [], ''), false);
});

test("jobq worker on SQLite and Postgres collects its old generation at twice what is live; never over the operator's own percent", () => {
  assert.equal(keepOldGenerationTight('worker', 'sqlite', [], ''), true);
  assert.equal(keepOldGenerationTight('worker', 'postgres', [], '--max-old-space-size=512'), true, 'another flag');
  assert.equal(keepOldGenerationTight('serve', 'sqlite', [], ''), false);
  assert.equal(keepOldGenerationTight('worker', 'memory', [], ''), false, 'the memory store holds its jobs in the heap');
  assert.equal(keepOldGenerationTight('worker', 'sqlite', ['--heap-growing-percent=300'], ''), false, 'a node flag (Node 20 honours this one)');
  assert.equal(keepOldGenerationTight('worker', 'sqlite', [], '--heap_growing_percent=50'), false, 'NODE_OPTIONS, with underscores');
});

const PROBE = fileURLToPath(new URL('../../../test/fixtures/young-generation.mjs', import.meta.url));

test('a jobq worker process: loading the CLI does not grow its young generation (it doubled once before the setting came first)', async () => {
  const dir = tempDir();
  after(() => dir.remove());
  const worker = await spawnServer(['--sqlite-path', dir.file('jobq.db')], { command: 'worker', env: { NODE_OPTIONS: `--import=${PROBE}` } });
  worker.child.kill('SIGTERM');
  assert.deepEqual(await worker.exited, { code: 0, signal: null }, worker.output());
  const line = /\{"youngGeneration":\{[^}]*\}\}/.exec(worker.output());
  assert.ok(line, `the probe's line:\n${worker.output()}`);
  const { atStart, atExit } = (JSON.parse(line[0]) as { youngGeneration: { atStart: number; atExit: number } }).youngGeneration;
  // V8 doubles it once on its own (1 -> 2 MB here); loading the CLI first doubled it again (4 MB).
  assert.ok(atExit <= 2 * atStart, `young generation ${atStart} bytes at start, ${atExit} at exit`);
});
