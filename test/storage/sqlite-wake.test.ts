/**
 * Cross-process wake-ups on one SQLite file by loopback datagram: a watcher is
 * woken by another connection's commit long before its data_version poll
 * (set to a minute here, so only the datagram can be what woke it).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { newRecord } from '../helpers/job-factory.js';
import { tempDir } from '../helpers/temp-dir.js';

function nextWake(store: SqliteStore): { woken: Promise<readonly string[] | undefined>; stop(): void } {
  let stop = () => {};
  const woken = new Promise<readonly string[] | undefined>((resolve) => {
    stop = store.watchChanges((queues) => resolve(queues));
  });
  return { woken, stop };
}

/** The timer is what keeps the process alive while it waits: the store's wake-up socket is unref'd. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

it('sqlite wake-ups: another connection enqueuing a pending job wakes a watcher by datagram, naming its queue; a scheduled one does not', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const worker = new SqliteStore({ path, watchIntervalMs: 60_000 });
  const producer = new SqliteStore({ path, watchIntervalMs: 60_000 });
  try {
    const w = nextWake(worker);
    // The watcher registers its port once its socket is bound; wait for its row.
    const raw = new Database(path, { readonly: true });
    for (let i = 0; i < 100 && (raw.prepare('SELECT COUNT(*) AS n FROM wake_listeners').get() as { n: number }).n === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM wake_listeners').get() as { n: number }).n, 1, 'the watching store registered one listener');

    const now = Date.now();
    await producer.jobInsertMany({ jobs: [newRecord(now, { queue: 'later', runAt: now + 60_000 })] });
    const early = await Promise.race([w.woken.then(() => 'woken'), new Promise((r) => setTimeout(() => r('quiet'), 200))]);
    assert.equal(early, 'quiet', 'a scheduled job wakes nobody (its due timer or the poll finds it)');

    const t0 = performance.now();
    await producer.jobInsertMany({ jobs: [newRecord(now, { queue: 'mail' })] });
    assert.deepEqual(await within(w.woken, 1_000, 'wake-up'), ['mail']);
    assert.ok(performance.now() - t0 < 1_000);
    w.stop();

    await worker.close();
    assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM wake_listeners').get() as { n: number }).n, 0, 'a closed store removes its listener row');
    raw.close();
    // Nobody listens any more: an enqueue still succeeds (a datagram to no one is simply not sent).
    await producer.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' })] });
  } finally {
    await worker.close();
    await producer.close();
    dir.remove();
  }
});
