/**
 * `npm run bench:sequential`: one caller enqueuing one job at a time, each
 * awaited (every enqueue its own commit), on SQLite with synchronous 'full'
 * (each acknowledged enqueue fdatasynced) and 'normal' (no fsync: the
 * like-for-like with a Redis that persists nothing), beside the rate at
 * which this disk completes fdatasync in the same directory: 4 KiB written
 * in place then fdatasync, in a loop (the ceiling for durable one-at-a-time
 * commits), and SQLite alone doing what the store does per enqueue (its
 * insert, commit and WAL fdatasync, no jobq code: sqlite-alone.ts), the
 * ceiling on this disk for any SQLite-based durable enqueue. Rounds
 * interleaved (BENCH_ROUNDS, default 3), medians.
 * Settings: BENCH_SEQ_N (5000), BENCH_DIR (the temp directory).
 * Prints a table; writes bench/results/sequential.json (every round).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibraryScenario } from './library-child.js';
import { median, fmt, writeResult } from './stats.js';

const env = process.env;
const n = Number(env.BENCH_SEQ_N ?? 5000);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const dir = mkdtempSync(join(env.BENCH_DIR ?? tmpdir(), 'jobq-bench-seq-'));
const CHILD = fileURLToPath(new URL('./library-child.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** fdatasyncs per second: 4 KiB overwritten in place, then fdatasync, for `ms`. */
function fdatasyncRate(ms: number): number {
  const path = join(dir, 'sync-probe');
  const fd = openSync(path, 'w');
  const page = Buffer.alloc(4096, 7);
  for (let i = 0; i < 16; i++) writeSync(fd, page, 0, page.length, i * 4096);
  fdatasyncSync(fd);
  let count = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    writeSync(fd, page, 0, page.length, (count % 16) * 4096);
    fdatasyncSync(fd);
    count++;
  }
  const rate = (count / (performance.now() - t0)) * 1000;
  closeSync(fd);
  rmSync(path, { force: true });
  return rate;
}

function sequential(kind: 'lib-sequential' | 'sqlite-alone', synchronous: 'full' | 'normal'): number {
  const sqlitePath = join(dir, `seq-${kind}-${synchronous}.db`);
  const s: LibraryScenario = { store: 'sqlite', sqlitePath, kind, n, concurrency: 1, synchronous };
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(s)], { encoding: 'utf8' });
  for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath + suffix, { force: true });
  if (r.status !== 0) throw new Error(`sequential enqueue (${kind}) failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { jobsPerSec: number }).jobsPerSec;
}

log(`sequential enqueue bench: N=${n}, ${rounds} rounds, in ${dir}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const disk: number[] = [];
const alone: number[] = [];
const full: number[] = [];
const normal: number[] = [];
try {
  for (let r = 1; r <= rounds; r++) {
    disk.push(fdatasyncRate(2000));
    alone.push(sequential('sqlite-alone', 'full'));
    full.push(sequential('lib-sequential', 'full'));
    normal.push(sequential('lib-sequential', 'normal'));
    log(`  round ${r}: fdatasync ${fmt(disk.at(-1)!)}/s, SQLite alone ${fmt(alone.at(-1)!)}/s, enqueue full ${fmt(full.at(-1)!)}/s, normal ${fmt(normal.at(-1)!)}/s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const d = median(disk);
const a = median(alone);
const pct = (x: number, of: number) => `${((x / of) * 100).toFixed(0)} %`;
process.stdout.write(
  [
    '| sequential enqueue (one caller, each awaited) | per second (median) | of the disk’s fdatasync rate | of SQLite alone |',
    '| --- | ---: | ---: | ---: |',
    `| this disk: 4 KiB write + fdatasync | ${fmt(d)} | 100 % | |`,
    `| SQLite alone: the store's insert, commit, WAL fdatasync (no jobq code) | ${fmt(a)} | ${pct(a, d)} | 100 % |`,
    `| jobq SQLite, synchronous full (each acknowledged enqueue fdatasynced) | ${fmt(median(full))} | ${pct(median(full), d)} | ${pct(median(full), a)} |`,
    `| jobq SQLite, synchronous normal (no fsync) | ${fmt(median(normal))} | ${pct(median(normal), d)} | |`,
  ].join('\n') + '\n',
);
writeResult('sequential', { n, rounds, perSecond: { fdatasync: disk, sqliteAlone: alone, jobqFull: full, jobqNormal: normal } });
