/** The CLI's V8 settings (cli/heap-tuning.ts): applied for the stores they help, never over the operator's own flags. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepYoungGenerationSmall } from '../../src/cli/heap-tuning.js';

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
