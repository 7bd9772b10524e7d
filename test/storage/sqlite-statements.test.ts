/**
 * No statement the SQLite store runs is compiled again at every run. SQLite
 * reads the value bound to a bare `LIMIT ?` when it plans, and marks such a
 * statement to be prepared anew whenever that parameter is bound again
 * (storage/sqlite/bound-limit.ts). Every statement with a LIMIT is captured
 * here as the store prepares it, through a workload that runs each of them:
 * claims of one type and of several, a flow-controlled claim, the rescuer's
 * read, pruning, listings plain and filtered, schedules and queue pages.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { newRecords } from '../helpers/job-factory.js';
import { tempDir } from '../helpers/temp-dir.js';

const T0 = Date.UTC(2030, 0, 1);
/** A LIMIT that is a bound parameter and nothing more (or a LIKE pattern given by one, which SQLite reads the same way). */
const READ_WHEN_PLANNED = /\bLIMIT\s+[@:$?]\w*\s*(\)|\bOFFSET\b|$)|\b(LIKE|GLOB)\s+[@:$?]/im;

it('sqlite: no statement with a LIMIT is prepared again at every run (the limit is never a bare bound parameter)', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ path: dir.file('statements.db'), synchronous: 'normal' });
  try {
    const db = (store as unknown as { c: { db: Database.Database } }).c.db;
    const prepared = new Set<string>();
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      prepared.add(sql);
      return prepare(sql);
    }) as typeof db.prepare;

    await store.jobInsertMany({ jobs: [...newRecords(T0, 5, { queue: 'q', type: 'a' }), ...newRecords(T0, 5, { queue: 'q', type: 'b' })] });
    await store.jobInsertMany({ jobs: newRecords(T0, 2, { queue: 'q', type: 'a', delayMs: 60_000 }) });
    const one = await store.jobClaim({ queue: 'q', types: ['a'], limit: 2, now: T0, leaseMs: 1000, leaseToken: 't1' });
    const two = await store.jobClaim({ queue: 'q', types: ['a', 'b'], limit: 2, now: T0, leaseMs: 1000, leaseToken: 't2' });
    const any = await store.jobClaim({ queue: 'q', types: null, limit: 2, now: T0, leaseMs: 1000, leaseToken: 't3' });
    assert.deepEqual([one.length, two.length, any.length], [2, 2, 2], 'each claim took its jobs');

    await store.queueConfigure({ name: 'f', settings: { concurrency: 5, perKeyConcurrency: 1, rateLimit: null, perKeyRateLimit: null }, maxQueues: 100, now: T0 });
    await store.jobInsertMany({ jobs: [...newRecords(T0, 2, { queue: 'f', type: 'a', concurrencyKey: 'k1' }), ...newRecords(T0, 2, { queue: 'f', type: 'a', concurrencyKey: 'k2' })] });
    const flow = await store.jobClaim({ queue: 'f', types: ['a'], limit: 4, now: T0, leaseMs: 1000, leaseToken: 't4' });
    const flowAny = await store.jobClaim({ queue: 'f', types: ['a', 'b'], limit: 4, now: T0, leaseMs: 1000, leaseToken: 't5' });
    assert.equal(flow.length, 2, 'one job per key');
    assert.equal(flowAny.length, 0, 'both keys at their limit');

    assert.equal((await store.jobExpiredLeases({ now: T0 + 2000, limit: 10 })).length, 8, 'the rescuer reads the expired leases');
    await store.jobFinishMany({ finishes: one.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: { kind: 'completed', resultJson: null } })), now: T0 + 1 });
    for (const status of ['completed', 'failed', 'cancelled'] as const) await store.jobPrune({ status, queue: 'q', finishedBefore: T0 + 10, limit: 10 });

    const page = await store.jobList({ queue: 'q', limit: 2, include: { payload: false, result: false }, maxBytes: 1e9 });
    assert.equal(page.jobs.length, 2);
    await store.jobList({ queue: 'q', limit: 2, include: { payload: false, result: false }, maxBytes: 1e9, cursor: page.nextCursor! });
    await store.jobList({ queue: 'q', type: 'b', createdAfter: T0 - 1, limit: 2, include: { payload: false, result: false }, maxBytes: 1e9 });

    const schedule = { name: 's', cron: '* * * * *', tz: 'UTC', job: { type: 'a', payload: null }, catchUp: 'none' as const, paused: false, nextRunAt: T0, lastRunAt: null, lastJobId: null, createdAt: T0, updatedAt: T0 };
    await store.scheduleUpsert(schedule);
    assert.equal((await store.scheduleList({ limit: 10 })).length, 1);
    assert.equal((await store.scheduleDue({ now: T0, limit: 10 })).length, 1);
    assert.deepEqual((await store.queueList({ limit: 10 })).map((q) => q.name), ['f']);

    const limited = [...prepared].filter((sql) => /\bLIMIT\b/i.test(sql));
    // claims (one type, several), flow-controlled claims (of a key, of a type), expired leases, three prunes, listings, schedules (page, due), queue page
    assert.ok(limited.length >= 12, `captured ${limited.length} statements with a LIMIT:\n${limited.join('\n')}`);
    for (const sql of prepared) assert.doesNotMatch(sql, READ_WHEN_PLANNED, `prepared again at every run:\n${sql}`);
  } finally {
    await store.close();
    dir.remove();
  }
});
