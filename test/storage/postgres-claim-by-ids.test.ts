/**
 * Claims by id, the Postgres store's half of broker dispatch (outbox.ts):
 * which of the named jobs a claim may take, and that it finds each row by
 * its id even before the planner has statistics (it once walked every
 * pending row of the queue for each claim).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import pg from 'pg';
import type { JobClaimByIdsParams } from '../../src/contracts/store.js';
import { NO_LIMITS } from '../../src/contracts/store.js';
import { quoteIdent } from '../../src/storage/postgres/migrations.js';
import { outboxStatements } from '../../src/storage/postgres/outbox.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { newRecord, newRecords } from '../helpers/job-factory.js';
import { adminQuery, freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { completed, MAX_QUEUES } from './conformance/ctx.js';

after(stopSharedCluster);

const T0 = Date.now();

async function withStore(fn: (store: PostgresStore, url: string, schema: string) => Promise<void>): Promise<void> {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema });
  try {
    await fn(store, url, schema);
  } finally {
    await store.close();
  }
}

function claim(store: PostgresStore, ids: readonly string[], extra: Partial<JobClaimByIdsParams> = {}) {
  return store.jobClaimByIds!({ queue: 'q', ids, types: null, now: T0, leaseMs: 30_000, leaseToken: randomUUID(), ...extra });
}

const ids = (jobs: readonly { id: string }[]) => jobs.map((j) => j.id);

it('leases the named pending jobs of its queue and types, and leaves every other named job as it was', async () => {
  await withStore(async (store) => {
    const mine = newRecords(T0, 4, { queue: 'q', type: 'a' });
    const otherQueue = newRecord(T0, { queue: 'other', type: 'a' });
    const otherType = newRecord(T0, { queue: 'q', type: 'b' });
    const later = newRecord(T0, { queue: 'q', type: 'a', delayMs: 60_000 });
    await store.jobInsertMany({ jobs: [...mine, otherQueue, otherType, later] });
    assert.ok((await store.jobCancel({ id: mine[3]!.id, from: ['pending'], now: T0 })).job);

    const got = await claim(store, [...ids(mine), otherQueue.id, otherType.id, later.id, randomUUID()], { types: ['a'] });
    assert.deepEqual(new Set(ids(got)), new Set(ids(mine.slice(0, 3))));
    assert.ok(got.every((j) => j.status === 'processing' && j.attempts === 1 && j.leaseExpiresAt === T0 + 30_000));
    assert.deepEqual(await claim(store, ids(mine)), [], 'claimed jobs are not claimed again');
    assert.deepEqual(
      await Promise.all([otherQueue, otherType, later, mine[3]!].map(async (j) => (await store.jobGet(j.id))?.status)),
      ['pending', 'pending', 'scheduled', 'cancelled'],
    );
    assert.deepEqual(ids(await claim(store, [otherType.id])), [otherType.id], 'any type when none is named');
  });
});

it('takes nothing from a paused queue, a queue under flow control or a held one', async () => {
  await withStore(async (store, url, schema) => {
    const [a, b, c] = newRecords(T0, 3, { queue: 'q' });
    await store.jobInsertMany({ jobs: [a!, b!, c!] });

    await store.queueSetPaused({ name: 'q', paused: true, maxQueues: MAX_QUEUES, now: T0 });
    assert.deepEqual(await claim(store, [a!.id]), [], 'paused');
    await store.queueSetPaused({ name: 'q', paused: false, maxQueues: MAX_QUEUES, now: T0 });
    assert.deepEqual(ids(await claim(store, [a!.id])), [a!.id]);

    await adminQuery(url, `INSERT INTO ${quoteIdent(schema)}.holds (queue, key, until) VALUES ('q', '', ${T0 + 60_000})`);
    assert.deepEqual(await claim(store, [b!.id]), [], 'held');
    await adminQuery(url, `DELETE FROM ${quoteIdent(schema)}.holds`);
    assert.deepEqual(ids(await claim(store, [b!.id])), [b!.id]);

    await store.queueConfigure({ name: 'q', settings: { ...NO_LIMITS, concurrency: 5 }, maxQueues: MAX_QUEUES, now: T0 });
    assert.deepEqual(await claim(store, [c!.id]), [], 'flow control: left to the store claims, which enforce it');
    assert.equal((await store.jobGet(c!.id))?.status, 'pending');
  });
});

it('keeps an ordering key in order: its next job is refused until the one before it ended', async () => {
  await withStore(async (store) => {
    const [first, second] = newRecords(T0, 2, { queue: 'q' }).map((r) => ({ ...r, orderingKey: 'k' }));
    const free = newRecord(T0, { queue: 'q' });
    await store.jobInsertMany({ jobs: [first!, second!, free] });
    const got = await claim(store, [second!.id, first!.id, free.id]);
    assert.deepEqual(new Set(ids(got)), new Set([first!.id, free.id]));
    assert.deepEqual(await claim(store, [second!.id]), [], 'the first of its key is still processing');
    const running = got.find((j) => j.id === first!.id)!;
    await store.jobFinishMany({ finishes: [{ id: running.id, leaseToken: running.leaseToken, outcome: completed() }], now: T0 });
    assert.deepEqual(ids(await claim(store, [second!.id])), [second!.id]);
  });
});

it('finds each named row by its id whatever the statistics say: never walks the queue\'s rows through another index', async () => {
  await withStore(async (store, url, schema) => {
    const s = quoteIdent(schema);
    const statements = outboxStatements(s, schema);
    const explain = async (named: readonly string[], text: string) => {
      const bound = text
        .replaceAll('$1', `'{${named.join(',')}}'`)
        .replaceAll('$2', 'NULL')
        .replaceAll('$3', String(T0))
        .replaceAll('$4', "'t'")
        .replaceAll('$5', String(T0 + 1))
        .replaceAll('$6', "'q'");
      // As the worker pool runs it (postgres-store.ts): no bitmap scans.
      const [, explained] = (await adminQuery(url, `SET enable_bitmapscan = off; EXPLAIN ${bound}`)) as unknown as pg.QueryResult<{ 'QUERY PLAN': string }>[];
      return explained!.rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    const jobIndexes = (plan: string) => [...plan.matchAll(/using (jobs_\w+) on jobs j\b/g)].map((m) => m[1]);
    // Statistics taken while the queue held 20 jobs, then a backlog: they say the queue's pending rows are few.
    const first = newRecords(T0, 20, { queue: 'q' });
    await store.jobInsertMany({ jobs: first });
    await adminQuery(url, `ANALYZE ${s}.jobs`);
    const backlog = newRecords(T0, 20_000, { queue: 'q' });
    for (let i = 0; i < backlog.length; i += 1000) await store.jobInsertMany({ jobs: backlog.slice(i, i + 1000) });
    const named = ids(backlog.slice(-50));
    for (const when of ['stale statistics', 'fresh statistics']) {
      if (when === 'fresh statistics') await adminQuery(url, `ANALYZE ${s}.jobs`);
      for (const text of [statements.claimByIds, statements.claimByIdsOrdered]) {
        const plan = await explain(named, text);
        assert.deepEqual(jobIndexes(plan), ['jobs_pkey'], `${when}:\n${plan}`);
      }
    }
  });
});
