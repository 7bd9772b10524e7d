/** The public lease API on Jobq (what remote workers will use), the event bus, and waitFor. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isJobqError } from '../../src/contracts/errors.js';
import type { JobEvent } from '../../src/contracts/events.js';
import { Jobq } from '../../src/core/jobq.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { fakeJobq } from '../helpers/jobq-harness.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

describe('lease API', () => {
  it('a stale and a current lease of one job finished in the same tick: only the current one applies', async () => {
    const { jobq } = fakeJobq({ queues: {} });
    const job = await jobq.enqueue({ type: 'remote' });
    const [stale] = await jobq.claim({ queue: 'default', max: 1 });
    assert.deepEqual(await jobq.release([stale!]), [job.id]);
    const [current] = await jobq.claim({ queue: 'default', max: 1 });
    assert.notEqual(current!.leaseToken, stale!.leaseToken);
    assert.deepEqual(await Promise.all([jobq.complete(stale!, 'old'), jobq.complete(current!, 'new')]), [false, true]);
    assert.equal((await jobq.get(job.id))?.result, 'new');
    await jobq.close();
  });

  it('claim, extend, progress, complete: fenced by the token, each transition one event', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const events: JobEvent[] = [];
    jobq.events.subscribe((e) => events.push(e));
    const job = await jobq.enqueue({ type: 'remote', payload: { n: 1 } });
    const [leased] = await jobq.claim({ queue: 'default', max: 5, types: ['remote'], leaseMs: 10_000 });
    assert.equal(leased?.id, job.id);
    assert.deepEqual(await jobq.claim({ queue: 'default', max: 5 }), [], 'claimed once');
    assert.equal(leased?.leaseExpiresAt, clock.now() + 10_000);
    await clock.advance(5000);
    assert.deepEqual(await jobq.extend([leased!], 20_000), [job.id]);
    assert.equal((await jobq.get(job.id))?.leaseExpiresAt, clock.now() + 20_000);
    assert.deepEqual(await jobq.extend([{ id: job.id, leaseToken: 'stolen' }]), []);
    assert.equal(await jobq.setProgress(leased!, 40), true);
    assert.equal(await jobq.setProgress({ id: job.id, leaseToken: 'stolen' }, 90), false);
    await assert.rejects(jobq.setProgress(leased!, Number.NaN), (e) => isJobqError(e, 'invalid_request'));
    assert.equal(await jobq.complete({ id: job.id, leaseToken: 'stolen' }, 1), false);
    assert.equal(await jobq.complete(leased!, { sent: true }), true);
    assert.equal(await jobq.complete(leased!, { again: true }), false, 'a lease completes once');
    const done = await jobq.get(job.id);
    assert.equal(done?.status, 'completed');
    assert.deepEqual(done?.result, { sent: true });
    assert.equal(done?.progress, 40);
    assert.deepEqual(events.map((e) => [e.kind, e.attempt, e.status]), [['enqueued', 0, 'pending'], ['started', 1, 'processing'], ['progress', 1, 'processing'], ['completed', 1, 'completed']]);
    await jobq.close();
  });

  it('fail retries with backoff or after retryAfterMs, fails for good when not retryable or out of attempts; release gives the attempt back', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const job = await jobq.enqueue({ type: 'remote', maxAttempts: 3 });
    let [l] = await jobq.claim({ queue: 'default', max: 1 });
    assert.deepEqual(await jobq.fail(l!, new Error('smtp 451')), { applied: true, status: 'scheduled' });
    assert.equal((await jobq.get(job.id))?.runAt, clock.now() + 1000, 'the retry policy: 1 s before the second attempt');
    await clock.advance(1000);
    [l] = await jobq.claim({ queue: 'default', max: 1 });
    assert.deepEqual(await jobq.fail(l!, { message: 'throttled' }, { retryAfterMs: 7000 }), { applied: true, status: 'scheduled' });
    assert.equal((await jobq.get(job.id))?.runAt, clock.now() + 7000);
    await clock.advance(7000);
    [l] = await jobq.claim({ queue: 'default', max: 1 });
    assert.deepEqual(await jobq.release([l!]), [job.id]);
    assert.equal((await jobq.get(job.id))?.attempts, 2, 'released: the third attempt is given back');
    [l] = await jobq.claim({ queue: 'default', max: 1 });
    assert.deepEqual(await jobq.fail(l!, 'bad address', { retryable: false }), { applied: true, status: 'failed' });
    assert.deepEqual(await jobq.fail(l!, 'again'), { applied: false, status: 'failed' });
    const failed = await jobq.get(job.id);
    assert.deepEqual(failed?.errors.map((e) => e.message), ['smtp 451', 'non-Error thrown: {"message":"throttled"}', 'non-Error thrown: bad address']);
    await jobq.close();
  });

  it('waitFor resolves when the job ends, rejects with timeout, and events can be iterated', async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const job = await jobq.enqueue({ type: 'remote' });
    const iterator = jobq.events.iterate({ filter: { jobId: job.id } });
    const waiting = jobq.waitFor(job.id, { timeoutMs: 60_000 });
    const [l] = await jobq.claim({ queue: 'default', max: 1 });
    await jobq.complete(l!, 'ok');
    await clock.advance(0);
    assert.equal((await waiting).status, 'completed');
    assert.deepEqual([(await iterator.next()).value?.kind, (await iterator.next()).value?.kind], ['started', 'completed']);
    await iterator.return!();
    assert.equal((await iterator.next()).done, true);
    const other = await jobq.enqueue({ type: 'remote' });
    const timedOut = assert.rejects(jobq.waitFor(other.id, { timeoutMs: 5000 }), (e) => isJobqError(e, 'timeout'));
    await clock.advance(5000);
    await timedOut;
    await assert.rejects(jobq.waitFor('01920000-0000-7000-8000-000000000000'), (e) => isJobqError(e, 'not_found'));
    await jobq.close();
  });
});

describe('completeInTransaction (Postgres)', () => {
  it("commits the handler's writes and the completion together, or neither", async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const jobq = new Jobq({ store: await PostgresStore.open({ connectionString: url, schema }), queues: {} });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`CREATE TABLE "${schema}".sent (job_id uuid PRIMARY KEY)`);
      const job = await jobq.enqueue({ type: 'email' });
      const [lease] = await jobq.claim({ queue: 'default', max: 1 });
      const work = async (commit: boolean) => {
        await client.query('BEGIN');
        await client.query(`INSERT INTO "${schema}".sent VALUES ($1)`, [job.id]);
        const ok = await jobq.completeInTransaction(client, lease!, { sent: 1 });
        await client.query(commit ? 'COMMIT' : 'ROLLBACK');
        return ok;
      };
      assert.equal(await work(false), true);
      assert.equal((await jobq.get(job.id))?.status, 'processing', 'rolled back: the job is still running');
      assert.equal((await client.query(`SELECT count(*)::int AS n FROM "${schema}".sent`)).rows[0].n, 0);
      assert.equal(await work(true), true);
      assert.equal((await jobq.get(job.id))?.status, 'completed');
      assert.deepEqual((await jobq.get(job.id))?.result, { sent: 1 });
      assert.equal((await client.query(`SELECT count(*)::int AS n FROM "${schema}".sent`)).rows[0].n, 1);
      await client.query('BEGIN');
      assert.equal(await jobq.completeInTransaction(client, lease!, 'again'), false, 'a finished lease cannot complete again');
      await client.query('ROLLBACK');
    } finally {
      await client.end();
      await jobq.close();
    }
  });
});
