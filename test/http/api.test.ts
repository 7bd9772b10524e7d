import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { PermanentJobError } from '../../src/contracts/errors.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('HTTP API (real server on loopback, SQLite file)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      handlers: {
        echo: (job) => job.payload,
        fail: () => {
          throw new PermanentJobError('always fails');
        },
        hold: () => new Promise(() => {}),
      },
      jobq: { queues: { default: { concurrency: 10 }, held: { concurrency: 1 } } },
    });
  });
  after(async () => s.close());

  describe('seed-compatible API', () => {
    it('POST /enqueue with no body enqueues the demo job; GET /status shows it complete', async () => {
      const res = await http(s.url, 'POST', '/enqueue');
      assert.equal(res.status, 200, "the seed's code");
      assert.equal(res.body.type, 'demo');
      assert.equal(res.body.status, 'pending');
      for (const field of ['id', 'payload', 'status', 'createdAt']) assert.ok(field in res.body, `seed field ${field}`);
      const fast = await http(s.url, 'POST', '/enqueue', { payload: { ms: 20 } });
      assert.equal(fast.status, 200);
      const done = await waitFor(async () => {
        const r = await http(s.url, 'GET', `/status/${fast.body.id}`);
        return r.body.status === 'completed' ? r : null;
      }, { what: 'demo job to complete' });
      assert.deepEqual(done.body.result, { sleptMs: 20 });
      assert.deepEqual(done.body.payload, { ms: 20 });
    });

    it('POST /enqueue with a JSON content type and an empty body also enqueues the demo job', async () => {
      const res = await http(s.url, 'POST', '/enqueue', '', { 'content-type': 'application/json' });
      assert.equal(res.status, 200);
      assert.equal(res.body.type, 'demo');
    });

    it('GET /status of an unknown id is a 404 with the error shape', async () => {
      const res = await http(s.url, 'GET', `/status/${randomUUID()}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
      assert.equal(res.body.error.message, 'job not found');
    });
  });

  describe('/v1/jobs', () => {
    it('enqueues one job and returns the full job', async () => {
      const res = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', payload: { hello: 'world' }, queue: 'default', priority: 3, maxAttempts: 2 });
      assert.equal(res.status, 201);
      assert.match(res.body.id, /^[0-9a-f-]{36}$/);
      assert.equal(res.body.priority, 3);
      assert.equal(res.body.maxAttempts, 2);
      const done = await waitFor(async () => ((await http(s.url, 'GET', `/v1/jobs/${res.body.id}`)).body.status === 'completed' ? true : null));
      assert.ok(done);
      const got = await http(s.url, 'GET', `/v1/jobs/${res.body.id}`);
      assert.deepEqual(got.body.result, { hello: 'world' });
      assert.equal(typeof got.body.finishedAt, 'string');
    });

    it('enqueues a batch all at once and returns summaries', async () => {
      const res = await http(s.url, 'POST', '/v1/jobs', Array.from({ length: 1000 }, (_, i) => ({ type: 'echo', payload: i, queue: 'batch' })));
      assert.equal(res.status, 201);
      assert.equal(res.body.jobs.length, 1000);
      assert.equal(new Set(res.body.jobs.map((j: { id: string }) => j.id)).size, 1000);
      const queues = await http(s.url, 'GET', '/v1/queues');
      const batch = queues.body.queues.find((q: { name: string }) => q.name === 'batch');
      assert.equal(batch.counts.pending, 1000, 'not worked: this server does not serve queue "batch"');
    });

    it('schedules a job with delayMs or runAt', async () => {
      const a = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', delayMs: 60_000 });
      assert.equal(a.body.status, 'scheduled');
      const at = new Date(Date.now() + 120_000).toISOString();
      const b = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', runAt: at });
      assert.equal(b.body.status, 'scheduled');
      assert.equal(b.body.runAt, at);
    });

    it('lists jobs a page at a time with filters', async () => {
      await http(s.url, 'POST', '/v1/jobs', Array.from({ length: 7 }, () => ({ type: 'echo', queue: 'listing' })));
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/v1/jobs?queue=listing&status=pending&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await http(s.url, 'GET', q);
        assert.equal(page.status, 200);
        ids.push(...page.body.jobs.map((j: { id: string }) => j.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.equal(ids.length, 7);
      assert.equal(new Set(ids).size, 7);
    });

    it('cancels a pending job once; a second cancel is a 409', async () => {
      const job = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', delayMs: 60_000 });
      const first = await http(s.url, 'POST', `/v1/jobs/${job.body.id}/cancel`);
      assert.equal(first.status, 200);
      assert.equal(first.body.status, 'cancelled');
      const second = await http(s.url, 'POST', `/v1/jobs/${job.body.id}/cancel`);
      assert.equal(second.status, 409);
      assert.equal(second.body.error.code, 'illegal_transition');
    });

    it('cancels a processing job', async () => {
      const job = await http(s.url, 'POST', '/v1/jobs', { type: 'hold', queue: 'held' });
      await waitFor(async () => (await http(s.url, 'GET', `/v1/jobs/${job.body.id}`)).body.status === 'processing');
      const res = await http(s.url, 'POST', `/v1/jobs/${job.body.id}/cancel`);
      assert.equal(res.body.status, 'cancelled');
    });

    it('retries a failed job; retrying a pending one is a 409', async () => {
      const job = await http(s.url, 'POST', '/v1/jobs', { type: 'fail' });
      await waitFor(async () => (await http(s.url, 'GET', `/v1/jobs/${job.body.id}`)).body.status === 'failed');
      const failed = await http(s.url, 'GET', `/v1/jobs/${job.body.id}`);
      assert.equal(failed.body.errors[0].message, 'always fails');
      const retry = await http(s.url, 'POST', `/v1/jobs/${job.body.id}/retry`);
      assert.equal(retry.status, 200);
      const pending = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', delayMs: 60_000 });
      const bad = await http(s.url, 'POST', `/v1/jobs/${pending.body.id}/retry`);
      assert.equal(bad.status, 409);
    });
  });

  describe('queues, health, OpenAPI', () => {
    it('pauses and resumes a queue', async () => {
      assert.deepEqual((await http(s.url, 'POST', '/v1/queues/paused-q/pause')).body, { name: 'paused-q', paused: true });
      const q = (await http(s.url, 'GET', '/v1/queues')).body.queues.find((x: { name: string }) => x.name === 'paused-q');
      assert.equal(q.paused, true);
      assert.equal((await http(s.url, 'POST', '/v1/queues/paused-q/resume')).body.paused, false);
    });

    it('POST /v1/jobs/prune deletes finished jobs past the retention given, and leaves the rest', async () => {
      const done = await http(s.url, 'POST', '/v1/jobs', { type: 'echo', queue: 'default', payload: 'to prune' });
      await waitFor(async () => (await http(s.url, 'GET', `/v1/jobs/${done.body.id}`)).body.status === 'completed', { what: 'the job to complete' });
      const kept = await http(s.url, 'POST', '/v1/jobs/prune');
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.body.byStatus.completed, 0, 'completed jobs are kept 7 days by default');
      const res = await http(s.url, 'POST', '/v1/jobs/prune', { retention: { completed: 1 }, queue: 'default' });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.byStatus.completed >= 1);
      assert.equal(res.body.deleted, res.body.byStatus.completed + res.body.byStatus.failed + res.body.byStatus.cancelled);
      assert.equal((await http(s.url, 'GET', `/v1/jobs/${done.body.id}`)).status, 404);
    });

    it('answers /healthz and /readyz, and /readyz turns 503 while draining', async () => {
      assert.deepEqual((await http(s.url, 'GET', '/healthz')).body, { status: 'ok' });
      assert.equal((await http(s.url, 'GET', '/readyz')).status, 200);
      s.readiness.ready = false;
      try {
        const r = await http(s.url, 'GET', '/readyz');
        assert.equal(r.status, 503);
      } finally {
        s.readiness.ready = true;
      }
    });

    it('serves an OpenAPI 3 document covering every route', async () => {
      const doc = (await http(s.url, 'GET', '/openapi.json')).body;
      assert.match(doc.openapi, /^3\./);
      const expected = {
        '/enqueue': ['post'],
        '/status/{id}': ['get'],
        '/v1/jobs': ['get', 'post'],
        '/v1/jobs/{id}': ['get'],
        '/v1/jobs/{id}/cancel': ['post'],
        '/v1/jobs/{id}/retry': ['post'],
        '/v1/jobs/prune': ['post'],
        '/v1/queues': ['get'],
        '/v1/queues/{name}/pause': ['post'],
        '/v1/queues/{name}/resume': ['post'],
        '/healthz': ['get'],
        '/readyz': ['get'],
      };
      for (const [path, methods] of Object.entries(expected)) {
        for (const m of methods) assert.ok(doc.paths[path]?.[m], `${m.toUpperCase()} ${path} documented`);
      }
      assert.ok(doc.components.schemas.Job, 'Job schema is a named component');
    });
  });

  it('2,000 concurrent enqueues get 2,000 distinct ids, all retrievable', async () => {
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => http(s.url, 'POST', '/v1/jobs', { type: 'echo', queue: 'burst', payload: { i } })),
    );
    assert.ok(results.every((r) => r.status === 201), 'every enqueue acknowledged');
    const ids = results.map((r) => r.body.id as string);
    assert.equal(new Set(ids).size, 2000);
    const stored = await Promise.all(ids.map((id) => s.jobq.get(id)));
    assert.ok(stored.every((j, i) => j !== null && (j.payload as { i: number }).i === i), 'each stored with its own payload');
  });
});

describe('HTTP API on the memory store', () => {
  it('answers 429 capacity_exceeded when the store is full, and keeps serving', async () => {
    const { Jobq } = await import('../../src/core/jobq.js');
    const { MemoryStore } = await import('../../src/storage/memory/memory-store.js');
    const { createHttpApp } = await import('../../src/http/app.js');
    const jobq = new Jobq({ store: new MemoryStore({ maxActiveJobs: 3 }) });
    const app = await createHttpApp({ jobq });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await http(url, 'POST', '/v1/jobs', { type: 't' })).status, 201);
      const full = await http(url, 'POST', '/v1/jobs', { type: 't' });
      assert.equal(full.status, 429);
      assert.equal(full.body.error.code, 'capacity_exceeded');
      assert.equal((await http(url, 'GET', '/healthz')).status, 200);
    } finally {
      await app.close();
      await jobq.close();
    }
  });
});
