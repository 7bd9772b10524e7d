/**
 * Issue #13: the lease protocol over real HTTP on loopback, on a real SQLite
 * file: claim (and its long poll), complete, fail, progress, release, the
 * batch forms, and the fence: a lost lease answers 409 lease_lost and
 * changes nothing.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';
import { watchStoreCalls, type StoreCalls } from '../helpers/store-calls.js';
import { waitFor } from '../helpers/wait-for.js';

let s: TestServer;
let n = 0;
const queue = () => `lq-${++n}`;
const claim = (q: string, body: Record<string, unknown> = {}) => http(s.url, 'POST', `/v1/queues/${q}/claim`, body);
const job = async (id: string) => (await http(s.url, 'GET', `/v1/jobs/${id}`)).body;
const enqueue = async (q: string, extra: Record<string, unknown> = {}) => (await http(s.url, 'POST', '/v1/jobs', { type: 'remote', queue: q, ...extra })).body;

describe('lease protocol over HTTP (real server on loopback, SQLite)', () => {
  before(async () => {
    s = await startTestServer({ jobq: { rescueIntervalMs: 100, retry: { baseDelayMs: 60_000 } } });
  });
  after(async () => s.close());

  it('claims up to max jobs of the asked types, each leased under a token, attempt counted', async () => {
    const q = queue();
    for (let i = 0; i < 3; i++) await enqueue(q, { payload: { i } });
    await enqueue(q, { type: 'other' });
    const r = await claim(q, { max: 2, types: ['remote'] });
    assert.equal(r.status, 200);
    assert.equal(r.body.jobs.length, 2);
    for (const j of r.body.jobs) {
      assert.equal(j.status, 'processing');
      assert.equal(j.attempts, 1);
      assert.equal(j.type, 'remote');
      assert.match(j.leaseToken, /^[0-9a-f-]{36}$/);
      assert.ok(Date.parse(j.leaseExpiresAt) > Date.now());
    }
    assert.deepEqual(r.body.jobs.map((j: { payload: { i: number } }) => j.payload.i), [0, 1], 'claim order: oldest first');
    const rest = await claim(q, { max: 10, types: ['remote'] });
    assert.equal(rest.body.jobs.length, 1);
    const empty = await claim(q, { max: 10, types: ['remote'] });
    assert.deepEqual(empty.body, { jobs: [] }, 'nothing left of that type; no wait asked, so at once');
  });

  it('refuses bad claims naming the field: max over 100, waitMs over 30 s, unknown fields', async () => {
    for (const [body, field] of [
      [{ max: 101 }, 'max'],
      [{ waitMs: 30_001 }, 'waitMs'],
      [{ leaseMs: 10 }, 'leaseMs'],
      [{ nope: 1 }, 'nope'],
    ] as const) {
      const r = await claim(queue(), body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.equal(r.body.error.details.field, field);
    }
  });

  it('completes with a result; the same token again is 409 lease_lost and changes nothing', async () => {
    const q = queue();
    const { id } = await enqueue(q);
    const [j] = (await claim(q)).body.jobs;
    const ok = await http(s.url, 'POST', `/v1/jobs/${id}/complete`, { leaseToken: j.leaseToken, result: { sum: 3 } });
    assert.deepEqual([ok.status, ok.body], [200, { id, status: 'completed' }]);
    const done = await job(id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.result, { sum: 3 });
    const again = await http(s.url, 'POST', `/v1/jobs/${id}/complete`, { leaseToken: j.leaseToken, result: { sum: 4 } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'lease_lost');
    assert.deepEqual((await job(id)).result, { sum: 3 }, 'the fenced call changed nothing');
  });

  it('fails an attempt: retried with backoff keeping the remote stack, after retryAfterMs, throttled (attempt given back), or for good', async () => {
    const q = queue();
    const a = await enqueue(q, { maxAttempts: 3 });
    const [ja] = (await claim(q)).body.jobs;
    const stack = 'Error: disk full\n    at write (/srv/worker.py:12)';
    const r = await http(s.url, 'POST', `/v1/jobs/${a.id}/fail`, { leaseToken: ja.leaseToken, error: { message: 'disk full', stack } });
    assert.deepEqual(r.body, { id: a.id, status: 'scheduled' });
    const failedOnce = await job(a.id);
    assert.equal(failedOnce.status, 'scheduled');
    assert.deepEqual(failedOnce.errors.map((e: { message: string; stack: string; attempt: number }) => [e.attempt, e.message, e.stack]), [[1, 'disk full', stack]], "the worker's stack, none of the server's frames");

    const b = await enqueue(q);
    const [jb] = (await claim(q)).body.jobs;
    const t0 = Date.now();
    await http(s.url, 'POST', `/v1/jobs/${b.id}/fail`, { leaseToken: jb.leaseToken, error: { message: 'busy' }, retryAfterMs: 5000 });
    const runAt = Date.parse((await job(b.id)).runAt);
    assert.ok(runAt >= t0 + 5000 && runAt < Date.now() + 5000 + 1000, `runAt ${runAt - t0} ms after the call`);

    // A throttle without a rate key holds its whole queue: its own queue here.
    const tq = queue();
    const t = await enqueue(tq);
    const [jt] = (await claim(tq)).body.jobs;
    const throttled = await http(s.url, 'POST', `/v1/jobs/${t.id}/fail`, { leaseToken: jt.leaseToken, error: { message: '429 from the API' }, rateLimited: { retryAfterMs: 5000 } });
    assert.deepEqual(throttled.body, { id: t.id, status: 'scheduled' });
    const back = await job(t.id);
    assert.deepEqual([back.attempts, back.errors.length], [0, 0], 'throttled: the attempt given back, no error recorded');
    assert.ok(Date.parse(back.runAt) >= Date.now() + 3000, 'waits out retryAfterMs');

    const c = await enqueue(q);
    const [jc] = (await claim(q)).body.jobs;
    const perm = await http(s.url, 'POST', `/v1/jobs/${c.id}/fail`, { leaseToken: jc.leaseToken, error: { message: 'bad input' }, retryable: false });
    assert.deepEqual(perm.body, { id: c.id, status: 'failed' });
    assert.equal((await job(c.id)).status, 'failed');
    const late = await http(s.url, 'POST', `/v1/jobs/${c.id}/fail`, { leaseToken: jc.leaseToken, error: { message: 'again' } });
    assert.equal(late.body.error.code, 'lease_lost');
    assert.equal((await job(c.id)).errors.length, 1);
  });

  it('records progress under the lease; releases without spending the attempt', async () => {
    const q = queue();
    const { id } = await enqueue(q);
    const [j] = (await claim(q)).body.jobs;
    assert.equal((await http(s.url, 'POST', `/v1/jobs/${id}/progress`, { leaseToken: j.leaseToken, progress: 42.5 })).status, 200);
    assert.equal((await job(id)).progress, 42.5);
    const rel = await http(s.url, 'POST', `/v1/jobs/${id}/release`, { leaseToken: j.leaseToken });
    assert.deepEqual(rel.body, { id, status: 'pending' });
    const back = await job(id);
    assert.deepEqual([back.status, back.attempts], ['pending', 0], 'pending again, the attempt given back');
    const stale = await http(s.url, 'POST', `/v1/jobs/${id}/progress`, { leaseToken: j.leaseToken, progress: 99 });
    assert.equal(stale.body.error.code, 'lease_lost');
    assert.equal((await http(s.url, 'POST', `/v1/jobs/${id}/release`, { leaseToken: j.leaseToken })).body.error.code, 'lease_lost');
  });

  it('a lease that expired was rescued: its worker gets lease_lost and changes nothing', async () => {
    const q = queue();
    const { id } = await enqueue(q);
    const [first] = (await claim(q, { leaseMs: 1000 })).body.jobs;
    await waitFor(async () => (await job(id)).status !== 'processing', { what: 'the rescuer to take the lease back', timeoutMs: 5000 });
    // Rescued: the attempt is spent and the job waits for its retry (backoff 60 s here).
    const after = await job(id);
    assert.ok(['pending', 'scheduled'].includes(after.status), after.status);
    assert.equal(after.errors[0].message, 'lease expired: the worker stopped heartbeating');
    const r = await http(s.url, 'POST', `/v1/jobs/${id}/complete`, { leaseToken: first.leaseToken, result: 'late' });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'lease_lost');
    const now = await job(id);
    assert.deepEqual([now.status, now.result ?? null], [after.status, null], 'nothing changed');
  });

  it('batch heartbeat: extends the held leases, names the lost ones, and never reports a stale token of a held job as extended', async () => {
    const q = queue();
    const a = await enqueue(q);
    const b = await enqueue(q);
    const [ja, jb] = (await claim(q, { max: 2, leaseMs: 5000 })).body.jobs;
    // A stale token for b: released, then claimed again under a new one.
    await http(s.url, 'POST', `/v1/jobs/${b.id}/release`, { leaseToken: jb.leaseToken });
    const [jb2] = (await claim(q)).body.jobs;
    assert.equal(jb2.id, b.id);
    const before = Date.parse((await job(a.id)).leaseExpiresAt);
    const leases = [
      { id: a.id, leaseToken: ja.leaseToken },
      { id: b.id, leaseToken: jb.leaseToken },
      { id: b.id, leaseToken: jb2.leaseToken },
    ];
    const r = await http(s.url, 'POST', '/v1/leases/extend', { leases, leaseMs: 60_000 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.extended, [leases[0], leases[2]]);
    assert.deepEqual(r.body.lost, [leases[1]]);
    assert.ok(Date.parse((await job(a.id)).leaseExpiresAt) > before + 30_000, 'extended by the leaseMs asked');
    // The same stale token first and alone in its own request: lost.
    const alone = await http(s.url, 'POST', '/v1/leases/extend', { leases: [leases[1]] });
    assert.deepEqual(alone.body, { extended: [], lost: [leases[1]] });
  });

  it('batch finish: completes, fails and releases many leases in one request, answering per lease in order', async () => {
    const q = queue();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await enqueue(q, { payload: i })).id);
    const jobs = (await claim(q, { max: 5 })).body.jobs;
    const byId = new Map(jobs.map((j: { id: string; leaseToken: string }) => [j.id, j.leaseToken]));
    const finishes = [
      { id: ids[0], leaseToken: byId.get(ids[0]), outcome: 'completed', result: { n: 0 } },
      { id: ids[1], leaseToken: byId.get(ids[1]), outcome: 'failed', error: { message: 'x' }, retryable: false },
      { id: ids[2], leaseToken: byId.get(ids[2]), outcome: 'released' },
      { id: ids[3], leaseToken: byId.get(ids[3]), outcome: 'completed' },
      { id: ids[3], leaseToken: byId.get(ids[3]), outcome: 'completed', result: 'twice' },
      { id: ids[4], leaseToken: byId.get(ids[4]), outcome: 'failed' },
    ];
    const r = await http(s.url, 'POST', '/v1/leases/finish', { finishes });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.results.map((x: { applied: boolean; status: string | null }) => [x.applied, x.status]),
      [
        [true, 'completed'],
        [true, 'failed'],
        [true, 'pending'],
        [true, 'completed'],
        [false, null],
        [false, null],
      ],
    );
    assert.equal(r.body.results[5].error.code, 'invalid_request', 'a failure without its error is refused, alone');
    assert.deepEqual((await job(ids[3]!)).result, null, 'the first finish of a job wins; the second one changed nothing');
    assert.deepEqual((await job(ids[0]!)).result, { n: 0 });
    assert.equal((await job(ids[2]!)).attempts, 0);
    assert.equal((await job(ids[4]!)).status, 'processing', 'the refused item left its job alone');
  });

  it("a claim may carry the worker's finished jobs: answered in results, applied before it claims, and it does not wait", async () => {
    const q = queue();
    const first = await enqueue(q);
    const [j] = (await claim(q)).body.jobs;
    const t0 = Date.now();
    const r = await claim(q, { max: 5, waitMs: 10_000, finishes: [{ id: first.id, leaseToken: j.leaseToken, outcome: 'completed', result: 7 }] });
    assert.ok(Date.now() - t0 < 1000, 'a claim that carries finishes answers at once, even with nothing to claim');
    assert.deepEqual(r.body, { jobs: [], results: [{ id: first.id, leaseToken: j.leaseToken, applied: true, status: 'completed' }] });
    assert.equal((await job(first.id)).result, 7);
    const next = await enqueue(q);
    const again = await claim(q, { max: 5, finishes: [{ id: first.id, leaseToken: j.leaseToken, outcome: 'completed' }] });
    assert.deepEqual(again.body.results.map((x: { applied: boolean }) => x.applied), [false], 'the stale finish changed nothing');
    assert.deepEqual(again.body.jobs.map((x: { id: string }) => x.id), [next.id], 'and the claim still took the ready job');
  });

  it('a result over the limit is refused with 413 and the job stays leased', async () => {
    const small = await startTestServer({ jobq: { limits: { maxResultBytes: 100 } } });
    try {
      const { id } = (await http(small.url, 'POST', '/v1/jobs', { type: 'remote', queue: 'big' })).body;
      const [j] = (await http(small.url, 'POST', '/v1/queues/big/claim', {})).body.jobs;
      const r = await http(small.url, 'POST', `/v1/jobs/${id}/complete`, { leaseToken: j.leaseToken, result: 'x'.repeat(200) });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'payload_too_large');
      assert.equal((await http(small.url, 'GET', `/v1/jobs/${id}`)).body.status, 'processing');
    } finally {
      await small.close();
    }
  });

  it('a remote worker counts as a live node of its queue: its jobs are not reported unhandled', async () => {
    const own = await startTestServer({ jobq: { nodeHeartbeatMs: 100 } });
    try {
      const unhandled = async () => (await http(own.url, 'GET', '/v1/queues')).body.queues.find((q: { name: string }) => q.name === 'rq')?.unhandled;
      await http(own.url, 'POST', '/v1/queues/rq/pause');
      await http(own.url, 'POST', '/v1/jobs', { type: 'remote', queue: 'rq' });
      await waitFor(async () => (await unhandled()) === 1, { what: 'the job to count as unhandled' });
      // Paused: the claim takes nothing and waits, announcing its worker meanwhile.
      const polling = http(own.url, 'POST', '/v1/queues/rq/claim', { waitMs: 3000, types: ['remote'], workerId: 'py-1' });
      await waitFor(async () => (await unhandled()) === 0, { what: 'the remote worker to count as a node handling it' });
      const nodes = await own.jobq.store.nodeList({ since: 0 });
      assert.ok(nodes.some((n) => n.id === 'remote:py-1:rq' && n.types.includes('remote')), JSON.stringify(nodes));
      assert.deepEqual((await polling).body, { jobs: [] });
    } finally {
      await own.close();
    }
  });

  describe('long poll', () => {
    /** Counts this queue's store calls on the shared server; restored after the test. */
    const watched: StoreCalls[] = [];
    const watch = (q: string, store = s.jobq.store) => {
      const calls = watchStoreCalls(store, q);
      watched.push(calls);
      return calls;
    };
    /** The claim found nothing and went to sleep: its due-time read is the last store call before it waits. */
    const asleep = (calls: StoreCalls, what: string) => waitFor(() => calls.claims >= 1 && calls.dueReads >= 1, { what });
    afterEach(() => {
      for (const c of watched.splice(0)) c.restore();
    });

    it('answers an empty list after waitMs when nothing arrives, having claimed from the store only at the start and at the deadline', async () => {
      const q = queue();
      const calls = watch(q);
      const t0 = Date.now();
      const r = await claim(q, { waitMs: 1500 });
      const ms = Date.now() - t0;
      assert.deepEqual(r.body, { jobs: [] });
      assert.ok(ms >= 1490 && ms < 3000, `${ms} ms`);
      // A poll of the store (the in-process loops' fallback is every 1,000 ms) would claim again while it waits.
      assert.deepEqual([calls.claims, calls.dueReads], [2, 2], 'one claim at the start, one at the deadline, each reading the next due time with it; nothing in between');
    });

    it('is woken by an enqueue on this node (the event bus), not by polling the store', async () => {
      const q = queue();
      const calls = watch(q);
      const polling = claim(q, { waitMs: 10_000, max: 5 });
      await asleep(calls, 'the claim to find nothing and wait');
      const t0 = Date.now();
      const { id } = await enqueue(q);
      const r = await polling;
      const ms = Date.now() - t0;
      assert.deepEqual(r.body.jobs.map((j: { id: string }) => j.id), [id]);
      assert.equal(calls.claims, 2, 'the first claim, then the one the enqueue woke: no polling claim between');
      assert.ok(ms < 1000, `answered ${ms} ms after the enqueue (the poll asked for 10 s)`);
    });

    it('is woken by an enqueue committed by another process on the same SQLite file (data_version)', async () => {
      const q = queue();
      const calls = watch(q);
      const other = new Jobq({ store: new SqliteStore({ path: (s.jobq.store as unknown as { path: string }).path }), queues: {} });
      try {
        const polling = claim(q, { waitMs: 10_000 });
        await asleep(calls, 'the claim to find nothing and wait');
        const t0 = Date.now();
        const { id } = await other.enqueue({ type: 'remote', queue: q });
        const r = await polling;
        assert.deepEqual(r.body.jobs.map((j: { id: string }) => j.id), [id]);
        assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms after the other process's enqueue`);
      } finally {
        await other.close();
      }
    });

    it('is woken when a scheduled job falls due', async () => {
      const q = queue();
      // Timed from before the enqueue: the job falls due 400 ms after the server takes it, never earlier than that from here.
      const t0 = Date.now();
      const { id } = await enqueue(q, { delayMs: 400 });
      const r = await claim(q, { waitMs: 10_000 });
      const ms = Date.now() - t0;
      assert.deepEqual(r.body.jobs.map((j: { id: string }) => j.id), [id]);
      assert.ok(ms >= 395 && ms < 3000, `${ms} ms after the enqueue was sent (due 400 ms after the server took it)`);
    });

    it('is woken when its queue is resumed', async () => {
      const q = queue();
      await http(s.url, 'POST', `/v1/queues/${q}/pause`);
      const { id } = await enqueue(q);
      const calls = watch(q);
      const polling = claim(q, { waitMs: 10_000 });
      // Paused: the claim takes nothing (it may not ask the store at all) and waits.
      await waitFor(() => calls.dueReads >= 1, { what: 'the claim to wait' });
      const t0 = Date.now();
      await http(s.url, 'POST', `/v1/queues/${q}/resume`);
      const r = await polling;
      assert.deepEqual(r.body.jobs.map((j: { id: string }) => j.id), [id]);
      assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms after the resume`);
    });

    it('takes nothing for a worker that went away: a job enqueued after it hung up stays pending, attempt unspent', async () => {
      const q = queue();
      const calls = watch(q);
      const ctl = new AbortController();
      const polling = fetch(`${s.url}/v1/queues/${q}/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"waitMs":10000}', signal: ctl.signal }).catch(() => null);
      await asleep(calls, 'the claim to find nothing and wait');
      ctl.abort();
      await polling;
      // The server saw the hang-up: the waiting claim woke, looked once more, and ended.
      await waitFor(() => calls.claims === 2, { what: 'the abandoned claim to end' });
      const { id } = await enqueue(q);
      const j = await job(id);
      assert.deepEqual([j.status, j.attempts], ['pending', 0]);
      // A fresh claim gets it on its first attempt, and it is the only claim since: the abandoned one took nothing.
      const r = await claim(q, {});
      assert.deepEqual(r.body.jobs.map((x: { id: string; attempts: number }) => [x.id, x.attempts]), [[id, 1]]);
      assert.equal(calls.claims, 3);
    });

    it('ends at once, answering an empty list, when the server closes', async () => {
      const own = await startTestServer();
      const calls = watch('x', own.jobq.store);
      const polling = http(own.url, 'POST', '/v1/queues/x/claim', { waitMs: 20_000 });
      await asleep(calls, 'the claim to find nothing and wait');
      const t0 = Date.now();
      const closing = own.close();
      const r = await polling;
      const ms = Date.now() - t0;
      await closing;
      assert.deepEqual(r.body, { jobs: [] });
      assert.ok(ms < 1500, `answered ${ms} ms after the close began (the poll asked for 20 s)`);
    });
  });
});
