/**
 * CI runs the deterministic simulator (simulator.ts) over 500 seeds × 200
 * steps on the memory store and 500 on SQLite, a few long seeds on each, and
 * checks that a seed's result is the same on every run. A failure names the
 * seeds and the command that replays each.
 *
 * The SQLite seeds (five times the cost of memory ones) run in a worker
 * thread, started as this file loads, while the memory seeds run here: on
 * two cores the file takes about as long as its SQLite half.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { SeedBatch, SeedBatchResult } from './seed-worker.js';
import { simulate, type SimResult, type StoreKind } from './simulator.js';

const SEEDS = 500;
const STEPS = 200;
const CHUNK = 50;
const LONG: { store: StoreKind; seed: number; steps: number }[] = [
  { store: 'memory', seed: 1, steps: 20_000 },
  { store: 'memory', seed: 2, steps: 20_000 },
  { store: 'memory', seed: 3, steps: 20_000 },
  { store: 'sqlite', seed: 1, steps: 5_000 },
];
/** Seeds run twice (1,000 steps each) to check that a seed's result never varies. */
const TWICE = [7];

// ─── The SQLite half, in a worker ───────────────────────────────────────────
const worker = new Worker(new URL('./seed-worker.js', import.meta.url));
const waiting = new Map<number, { resolve: (r: SimResult[]) => void; reject: (e: Error) => void }>();
let nextBatch = 0;
worker.on('message', (m: SeedBatchResult) => {
  const w = waiting.get(m.id);
  waiting.delete(m.id);
  if (m.error) w?.reject(new Error(`the worker failed: ${m.error}`));
  else w?.resolve(m.results);
});
worker.on('error', (err) => {
  for (const w of waiting.values()) w.reject(err);
  waiting.clear();
});
/** Queues a batch on the worker now; the promise settles when it ran. */
function inWorker(store: StoreKind, seeds: number[], steps: number): Promise<SimResult[]> {
  const id = nextBatch++;
  const p = new Promise<SimResult[]>((resolve, reject) => waiting.set(id, { resolve, reject }));
  worker.postMessage({ id, store, seeds, steps } satisfies SeedBatch);
  return p;
}
const range = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);
const sqliteChunks = new Map<number, Promise<SimResult[]>>();
for (let first = 1; first <= SEEDS; first += CHUNK) sqliteChunks.set(first, inWorker('sqlite', range(first, CHUNK), STEPS));
const sqliteLong = new Map(LONG.filter((l) => l.store === 'sqlite').map((l) => [l.seed, inWorker('sqlite', [l.seed], l.steps)]));
const sqliteTwice = TWICE.map((seed) => Promise.all([inWorker('sqlite', [seed], 1000), inWorker('sqlite', [seed], 1000)]));
// Whatever happens to the tests, nothing waits on the worker once they are done.
for (const p of [...sqliteChunks.values(), ...sqliteLong.values(), ...sqliteTwice]) p.catch(() => {});
after(() => worker.terminate());

// ─── Checks ─────────────────────────────────────────────────────────────────
function report(failures: SimResult[]): string {
  return failures.map((r) => `seed ${r.seed} (${r.store}, ${r.steps} steps) broke an invariant:\n  ${r.violations.join('\n  ')}\n  replay: ${r.replay}`).join('\n');
}

function assertClean(results: SimResult[]): void {
  const failures = results.filter((r) => r.violations.length > 0);
  assert.ok(failures.length === 0, `${failures.length} of ${results.length} seeds failed\n${report(failures)}`);
  for (const r of results) assert.ok(r.stats.acknowledged > 0 && r.stats.runs > 0 && r.stats.events > 0, `seed ${r.seed} (${r.store}) did no work; replay: ${r.replay}`);
}

function assertLong(r: SimResult): void {
  assertClean([r]);
  // A long run must exercise what it is for.
  for (const k of ['crashes', 'stops', 'lostClaims', 'poisonBatches', 'completed', 'failed', 'cancelled'] as const) assert.ok(r.stats[k] > 0, `no ${k} in ${r.replay}`);
}

function assertSame(a: SimResult, b: SimResult): void {
  assert.deepEqual(b.stats, a.stats, `seed ${a.seed} on ${a.store} gave different results on two runs`);
  assert.deepEqual(b.violations.length, a.violations.length);
}

// Memory first: it runs here while the worker works through SQLite.
describe(`deterministic simulation on memory: ${SEEDS} seeds × ${STEPS} steps`, () => {
  for (let first = 1; first <= SEEDS; first += CHUNK) {
    it(`seeds ${first}–${first + CHUNK - 1}: every invariant holds`, async () => {
      const results: SimResult[] = [];
      for (const seed of range(first, CHUNK)) results.push(await simulate(seed, STEPS, { store: 'memory' }));
      assertClean(results);
    });
  }
});

describe('deterministic simulation: long seeds on memory', () => {
  for (const { seed, steps } of LONG.filter((l) => l.store === 'memory')) {
    it(`seed ${seed} × ${steps.toLocaleString('en')} steps`, async () => assertLong(await simulate(seed, steps, { store: 'memory' })));
  }
});

describe('deterministic simulation: a seed gives the same result on every run', () => {
  for (const seed of TWICE) {
    it(`memory, seed ${seed}`, async () => assertSame(await simulate(seed, 1000, { store: 'memory' }), await simulate(seed, 1000, { store: 'memory' })));
  }
  TWICE.forEach((seed, i) => {
    it(`sqlite, seed ${seed}`, async () => {
      const [[a], [b]] = await sqliteTwice[i]!;
      assertSame(a!, b!);
    });
  });
});

describe(`deterministic simulation on sqlite: ${SEEDS} seeds × ${STEPS} steps`, () => {
  for (const [first, results] of sqliteChunks) {
    it(`seeds ${first}–${first + CHUNK - 1}: every invariant holds`, async () => assertClean(await results));
  }
});

describe('deterministic simulation: long seeds on sqlite', () => {
  for (const [seed, results] of sqliteLong) {
    const { steps } = LONG.find((l) => l.store === 'sqlite' && l.seed === seed)!;
    it(`seed ${seed} × ${steps.toLocaleString('en')} steps`, async () => assertLong((await results)[0]!));
  }
});
