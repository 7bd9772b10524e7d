/**
 * Cross-process wake-ups on one SQLite file by loopback datagram: a watcher is
 * woken by another connection's commit long before its data_version poll
 * (set to a minute here, so only the datagram can be what woke it).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Worker } from 'node:worker_threads';
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

/** The listener rows in the file (a watching store registers its port once its socket is bound). */
function listeners(raw: Database.Database): number {
  return (raw.prepare('SELECT COUNT(*) AS n FROM wake_listeners').get() as { n: number }).n;
}

/** Until some listener is registered, for up to a second. */
async function listenersRegistered(raw: Database.Database): Promise<void> {
  for (let i = 0; i < 100 && listeners(raw) === 0; i++) await new Promise((r) => setTimeout(r, 10));
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

/** Two stores on one new file, as two processes would open it; close() closes both and removes the file. */
function twoStores(watchIntervalMs: number): { path: string; a: SqliteStore; b: SqliteStore; close(): Promise<void> } {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const a = new SqliteStore({ path, watchIntervalMs });
  const b = new SqliteStore({ path, watchIntervalMs });
  return {
    path,
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      dir.remove();
    },
  };
}

it('sqlite wake-ups: another connection enqueuing a pending job wakes a watcher by datagram; a scheduled one does not', async () => {
  const { path, a: worker, b: producer, close } = twoStores(60_000);
  try {
    const w = nextWake(worker);
    // The watcher registers its port once its socket is bound; wait for its row.
    const raw = new Database(path, { readonly: true });
    await listenersRegistered(raw);
    assert.equal(listeners(raw), 1, 'the watching store registered one listener');

    const now = Date.now();
    await producer.jobInsertMany({ jobs: [newRecord(now, { queue: 'later', runAt: now + 60_000 })] });
    const early = await Promise.race([w.woken.then(() => 'woken'), new Promise((r) => setTimeout(() => r('quiet'), 200))]);
    assert.equal(early, 'quiet', 'a scheduled job wakes nobody (its due timer or the poll finds it)');

    const t0 = performance.now();
    await producer.jobInsertMany({ jobs: [newRecord(now, { queue: 'mail' })] });
    // The datagram's look at data_version found the commits (the scheduled job's too): every queue is woken, as the poll would have.
    assert.equal(await within(w.woken, 1_000, 'wake-up'), undefined);
    assert.ok(performance.now() - t0 < 1_000);
    w.stop();

    await worker.close();
    assert.equal(listeners(raw), 0, 'a closed store removes its listener row');
    raw.close();
    // Nobody listens any more: an enqueue still succeeds (a datagram to no one is simply not sent).
    await producer.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' })] });
  } finally {
    await close();
  }
});

it('sqlite wake-ups: a commit announced by datagram wakes a watcher once, not again at the next data_version poll', async () => {
  const { path, a: worker, b: producer, close } = twoStores(2);
  const raw = new Database(path, { readonly: true });
  const wakes: (readonly string[] | undefined)[] = [];
  let woken = () => {};
  const stop = worker.watchChanges((queues) => {
    wakes.push(queues);
    woken();
  });
  try {
    await listenersRegistered(raw);
    assert.equal(listeners(raw), 1, 'the watching store registered one listener');
    // The registration was a commit of the worker's own; let any wake of the start pass.
    await new Promise((r) => setTimeout(r, 50));
    wakes.length = 0;

    const COMMITS = 10;
    for (let i = 0; i < COMMITS; i++) {
      const next = new Promise<void>((resolve) => (woken = resolve));
      await producer.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' })] });
      await within(next, 1_000, `the wake-up for commit ${i + 1}`);
      // Twenty-five poll intervals: a second wake for the same commit would come in this window.
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(wakes.length, COMMITS, `one wake per commit (woken ${wakes.length} times for ${COMMITS} commits)`);
  } finally {
    stop();
    raw.close();
    await close();
  }
});

/**
 * A listener on its own thread, so that it receives while the main thread is
 * blocked: it binds a loopback UDP port, posts the port, then posts the wall
 * time of each datagram it receives.
 */
const LISTENER = `
const { parentPort } = require('node:worker_threads');
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', () => parentPort.postMessage({ receivedAt: performance.timeOrigin + performance.now() }));
socket.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: socket.address().port }));
`;

it('sqlite wake-ups: the datagram leaves when the commit is visible, before the fsync the enqueue waits for', async () => {
  const dir = tempDir();
  const path = dir.file('jobs.db');
  const producer = new SqliteStore({ path, watchIntervalMs: 60_000 });
  const listener = new Worker(LISTENER, { eval: true });
  try {
    const messages: { port?: number; receivedAt?: number }[] = [];
    let arrived = () => {};
    listener.on('message', (m: { port?: number; receivedAt?: number }) => {
      messages.push(m);
      arrived();
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    await within(next(), 5_000, 'listener bound');
    const port = messages[0]!.port!;
    const raw = new Database(path);
    raw.prepare('INSERT INTO wake_listeners (port, expires_at) VALUES (?, ?)').run(port, Date.now() + 60_000);
    raw.close();

    // A disk whose fsync takes 300 ms: the store's own fdatasync, after the main thread was held that long.
    const syncer = (producer as unknown as { walSyncer: { sync(): void } }).walSyncer;
    const fsync = syncer.sync.bind(syncer);
    const FSYNC_MS = 300;
    syncer.sync = () => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FSYNC_MS);
      fsync();
    };
    const received = next();
    const sentAt = performance.timeOrigin + performance.now();
    await producer.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' })] });
    const resolvedAt = performance.timeOrigin + performance.now();
    await within(received, 5_000, 'datagram');
    const receivedAt = messages[1]!.receivedAt!;
    assert.ok(resolvedAt - sentAt >= FSYNC_MS, `the insert resolved after the fsync (${(resolvedAt - sentAt).toFixed(1)} ms)`);
    assert.ok(
      receivedAt - sentAt < FSYNC_MS / 2,
      `the datagram arrived ${(receivedAt - sentAt).toFixed(1)} ms after the insert began, while its fsync ran (the insert resolved after ${(resolvedAt - sentAt).toFixed(1)} ms)`,
    );
  } finally {
    await listener.terminate();
    await producer.close();
    dir.remove();
  }
});

/** Every wake-up of a watching store, and a promise for the next. */
function wakeLog(store: SqliteStore): { count(): number; next(): Promise<void>; stop(): void } {
  let seen = 0;
  let woken = () => {};
  const stop = store.watchChanges(() => {
    seen++;
    woken();
  });
  return { count: () => seen, next: () => new Promise<void>((resolve) => (woken = resolve)), stop };
}

it('sqlite wake-ups: finishes that make jobs claimable wake another process by datagram (a retry at once, a dependent now pending, a flow-controlled slot, a released claim); a plain completion does not', async () => {
  // Polls a minute apart: only a datagram can wake the watcher within the test.
  const { path, a: worker, b: other, close } = twoStores(60_000);
  const raw = new Database(path, { readonly: true });
  const log = wakeLog(worker);
  let token = 0;
  const claimOne = async (queue: string) => {
    const leaseToken = `lease-${++token}`;
    const [job] = await other.jobClaim({ queue, types: null, limit: 1, now: Date.now(), leaseMs: 30_000, leaseToken });
    assert.ok(job, `a job of ${queue} to claim`);
    return { id: job.id, leaseToken };
  };
  /** Runs `action` in the other process's store and waits for the wake-up it should cause. */
  const wakes = async (what: string, action: () => Promise<unknown>) => {
    const next = log.next();
    await action();
    await within(next, 1_000, what);
  };
  try {
    await listenersRegistered(raw);
    await wakes('the enqueue', () => other.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' }), newRecord(Date.now(), { queue: 'mail' })] }));

    const first = await claimOne('mail');
    const before = log.count();
    await other.jobFinishMany({ finishes: [{ ...first, outcome: { kind: 'completed', resultJson: null } }], now: Date.now() });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(log.count(), before, 'a plain completion frees nothing another process waits on: no datagram');

    const second = await claimOne('mail');
    await wakes('a retry at once', () =>
      other.jobFinishMany({ finishes: [{ ...second, outcome: { kind: 'retry', status: 'pending', runAt: Date.now(), error: { message: 'again', attempt: 1, at: Date.now() } } }], now: Date.now() }),
    );

    const parent = newRecord(Date.now(), { queue: 'mail' });
    const child = { ...newRecord(Date.now(), { queue: 'reports' }), dependsOn: [parent.id] };
    await wakes('the parent enqueued', () => other.jobInsertMany({ jobs: [parent, child] }));
    // The queue holds the retried job and the parent: complete the retried one, then the parent.
    const a = await claimOne('mail');
    const b = await claimOne('mail');
    const [parentLease, retriedLease] = a.id === parent.id ? [a, b] : [b, a];
    assert.equal(parentLease.id, parent.id);
    assert.equal(retriedLease.id, second.id);
    await other.jobFinishMany({ finishes: [{ ...retriedLease, outcome: { kind: 'completed', resultJson: null } }], now: Date.now() });
    await wakes('a dependent now pending', () => other.jobFinishMany({ finishes: [{ ...parentLease, outcome: { kind: 'completed', resultJson: null } }], now: Date.now() }));
    assert.equal((await worker.jobGet(child.id))?.status, 'pending');

    await wakes('a limit configured', () =>
      other.queueConfigure({ name: 'limited', settings: { concurrency: 1, perKeyConcurrency: null, rateLimit: null, perKeyRateLimit: null }, maxQueues: 100, now: Date.now() }),
    );
    await wakes('a job of the limited queue', () => other.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'limited' })] }));
    const limited = await claimOne('limited');
    await wakes('a slot of the limited queue freed', () => other.jobFinishMany({ finishes: [{ ...limited, outcome: { kind: 'completed', resultJson: null } }], now: Date.now() }));

    await wakes('another job', () => other.jobInsertMany({ jobs: [newRecord(Date.now(), { queue: 'mail' })] }));
    const given = await claimOne('mail');
    await wakes('a claim given back', () => other.jobReleaseClaim({ leaseToken: given.leaseToken, now: Date.now() }));
  } finally {
    log.stop();
    raw.close();
    await close();
  }
});

it("sqlite wake-ups: a process following other processes' events looks for them every 2 ms whatever its safety-net poll, and goes back to that poll after", async () => {
  const { a: follower, b: publisher, close } = twoStores(60_000);
  try {
    const received: string[] = [];
    let arrived = () => {};
    const unsubscribe = follower.subscribeEvents('follower-node', (events) => {
      for (const e of events) received.push(e.jobId);
      arrived();
    });
    const event = (jobId: string) => ({ kind: 'enqueued' as const, jobId, queue: 'mail', type: 'test', attempt: 0, status: 'pending' as const, at: Date.now() });
    const next = new Promise<void>((resolve) => (arrived = resolve));
    publisher.publishEvents('publisher-node', [event('j-1')]);
    // No datagram announces events: only a look every couple of milliseconds delivers this within the second.
    await within(next, 1_000, 'the other process’s event');
    assert.deepEqual(received, ['j-1']);
    unsubscribe();
    const feed = (follower as unknown as { feed: { timerMs: number; timer: unknown } }).feed;
    assert.equal(feed.timer, null, 'nothing watches or follows any more: no poll');
    const stop = follower.watchChanges(() => {});
    assert.equal(feed.timerMs, 60_000, 'a watcher alone polls at the safety net’s interval');
    const again = follower.subscribeEvents('follower-node', () => {});
    assert.equal(feed.timerMs, 2, 'following events again: every 2 ms');
    again();
    assert.equal(feed.timerMs, 60_000, 'and back');
    stop();
  } finally {
    await close();
  }
});
