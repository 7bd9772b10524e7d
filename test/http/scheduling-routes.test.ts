/** Unique keys, Idempotency-Key, dependencies, flows, schedules and queue flow control over HTTP (real server, SQLite file). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('HTTP: keys, dependencies, flows, schedules, queue settings', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ handlers: { part: (job) => (job.payload as { n: number }).n, merge: () => 'merged' } });
  });
  after(async () => s.close());

  it('an enqueue with a held key answers the holder with 200 and deduplicated: true', async () => {
    const first = await http(s.url, 'POST', '/v1/jobs', { type: 'later', key: 'welcome-7', delayMs: 60_000, payload: { v: 1 } });
    assert.equal(first.status, 201);
    assert.equal(first.body.key, 'welcome-7');
    assert.equal(first.body.deduplicated, undefined);
    const again = await http(s.url, 'POST', '/v1/jobs', { type: 'later', key: 'welcome-7', payload: { v: 2 } });
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.id, again.body.deduplicated, again.body.replaced, again.body.payload], [first.body.id, true, false, { v: 1 }]);
    const replaced = await http(s.url, 'POST', '/v1/jobs', { type: 'later', key: 'welcome-7', payload: { v: 3 }, onConflict: 'replace', delayMs: 120_000 });
    assert.equal(replaced.status, 200);
    assert.deepEqual([replaced.body.id, replaced.body.replaced, replaced.body.payload], [first.body.id, true, { v: 3 }]);
    const bad = await http(s.url, 'POST', '/v1/jobs', { type: 'x', uniqueForMs: 10 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /key/);
  });

  it('Idempotency-Key: a retried request answers the jobs the first one stored (single and batch)', async () => {
    const h = { 'idempotency-key': 'order-42-create' };
    const a = await http(s.url, 'POST', '/v1/jobs', { type: 'later', delayMs: 60_000 }, h);
    const b = await http(s.url, 'POST', '/v1/jobs', { type: 'later', delayMs: 60_000 }, h);
    assert.deepEqual([a.status, b.status], [201, 200]);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.body.deduplicated, true);
    const hb = { 'idempotency-key': 'import-batch-9' };
    const batch = [{ type: 'later', delayMs: 60_000 }, { type: 'later', delayMs: 60_000 }];
    const c = await http(s.url, 'POST', '/v1/jobs', batch, hb);
    const d = await http(s.url, 'POST', '/v1/jobs', batch, hb);
    assert.deepEqual([c.status, d.status], [201, 200]);
    assert.deepEqual(d.body.jobs.map((j: { id: string }) => j.id), c.body.jobs.map((j: { id: string }) => j.id));
    assert.ok(d.body.jobs.every((j: { deduplicated?: boolean }) => j.deduplicated === true));
    const clash = await http(s.url, 'POST', '/v1/jobs', { type: 'x', key: 'mine' }, { 'idempotency-key': 'other' });
    assert.equal(clash.status, 400);
    assert.equal(clash.body.error.details.field, 'key');
    const badHeader = await http(s.url, 'POST', '/v1/jobs', { type: 'x' }, { 'idempotency-key': 'x'.repeat(201) });
    assert.equal(badHeader.status, 400);
  });

  it('dependsOn by batch index waits, an unknown dependency is 422, and a flow runs children before the parent', async () => {
    const res = await http(s.url, 'POST', '/v1/jobs', [{ type: 'part', payload: { n: 1 } }, { type: 'merge', dependsOn: [0] }]);
    assert.equal(res.status, 201);
    assert.equal(res.body.jobs[1].status, 'waiting');
    const unknown = await http(s.url, 'POST', '/v1/jobs', { type: 'merge', dependsOn: ['01920000-0000-7000-8000-0000000000aa'] });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.code, 'unknown_dependency');
    const flow = await http(s.url, 'POST', '/v1/flows', { job: { type: 'merge' }, children: [{ job: { type: 'part', payload: { n: 2 } } }, { job: { type: 'part', payload: { n: 3 } } }] });
    assert.equal(flow.status, 201);
    assert.equal(flow.body.job.status, 'waiting');
    assert.equal(flow.body.children.length, 2);
    const parent = await waitFor(async () => {
      const r = await http(s.url, 'GET', `/v1/jobs/${flow.body.job.id}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { what: 'the flow parent to complete' });
    assert.deepEqual(parent.dependsOn, flow.body.children.map((c: { job: { id: string } }) => c.job.id));
    assert.equal(parent.result, 'merged');
    const byIndex = await http(s.url, 'POST', '/v1/flows', { job: { type: 'merge', dependsOn: [0] } });
    assert.equal(byIndex.status, 400, 'a flow node depends on its children by the tree; dependsOn may only name stored jobs');
    const deep = await http(s.url, 'POST', '/v1/flows', { job: { type: 'merge' }, children: [{ job: { type: 'part' }, children: [{ job: { type: 'part', colour: 'red' } }] }] });
    assert.equal(deep.status, 400, 'a field no job has is refused at any depth');
  });

  it('schedules: put (idempotent), get, list, pause, resume, delete; a bad cron is a 400 naming the field', async () => {
    const def = { cron: '*/5 * * * *', tz: 'Europe/Paris', job: { type: 'later', payload: { report: 'daily' } } };
    const put = await http(s.url, 'PUT', '/v1/schedules/reports', def);
    assert.equal(put.status, 200);
    assert.equal(put.body.changed, true);
    assert.equal(put.body.schedule.tz, 'Europe/Paris');
    assert.ok(Date.parse(put.body.schedule.nextRunAt) > Date.now() - 1000);
    const same = await http(s.url, 'PUT', '/v1/schedules/reports', def);
    assert.equal(same.body.changed, false);
    assert.equal(same.body.schedule.nextRunAt, put.body.schedule.nextRunAt);
    await http(s.url, 'PUT', '/v1/schedules/backup', { cron: '0 3 * * *', job: { type: 'later' } });
    const page1 = await http(s.url, 'GET', '/v1/schedules?limit=1');
    assert.deepEqual(page1.body.schedules.map((x: { name: string }) => x.name), ['backup']);
    const page2 = await http(s.url, 'GET', `/v1/schedules?limit=1&cursor=${page1.body.nextCursor}`);
    assert.deepEqual(page2.body.schedules.map((x: { name: string }) => x.name), ['reports']);
    assert.equal(page2.body.nextCursor, null);
    const paused = await http(s.url, 'POST', '/v1/schedules/reports/pause');
    assert.deepEqual([paused.status, paused.body.paused, paused.body.nextRunAt], [200, true, null]);
    const resumed = await http(s.url, 'POST', '/v1/schedules/reports/resume');
    assert.equal(resumed.body.paused, false);
    assert.notEqual(resumed.body.nextRunAt, null);
    const badCron = await http(s.url, 'PUT', '/v1/schedules/bad', { cron: '61 * * * *', job: { type: 'later' } });
    assert.equal(badCron.status, 400);
    assert.equal(badCron.body.error.details.field, 'cron');
    const badTz = await http(s.url, 'PUT', '/v1/schedules/bad', { cron: '* * * * *', tz: 'Mars/Olympus', job: { type: 'later' } });
    assert.equal(badTz.status, 400);
    assert.equal((await http(s.url, 'DELETE', '/v1/schedules/reports')).status, 204);
    assert.equal((await http(s.url, 'GET', '/v1/schedules/reports')).status, 404);
    assert.equal((await http(s.url, 'DELETE', '/v1/schedules/reports')).status, 404);
  });

  it('PATCH /v1/queues/{name} sets flow control (merged, null removes), shown in GET /v1/queues; a bad limit is a 400 naming the field', async () => {
    const set = await http(s.url, 'PATCH', '/v1/queues/mail', { concurrency: 5, perKeyRateLimit: { max: 10, intervalMs: 1000 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.settings, { concurrency: 5, perKeyConcurrency: null, rateLimit: null, perKeyRateLimit: { max: 10, intervalMs: 1000 } });
    const merged = await http(s.url, 'PATCH', '/v1/queues/mail', { concurrency: null, perKeyConcurrency: 1 });
    assert.deepEqual(merged.body.settings, { concurrency: null, perKeyConcurrency: 1, rateLimit: null, perKeyRateLimit: { max: 10, intervalMs: 1000 } });
    const list = await http(s.url, 'GET', '/v1/queues');
    assert.deepEqual(list.body.queues.find((q: { name: string }) => q.name === 'mail').settings, merged.body.settings);
    for (const [body, field] of [
      [{ concurrency: 0 }, 'concurrency'],
      [{ perKeyConcurrency: 2.5 }, 'perKeyConcurrency'],
      [{ rateLimit: { max: 0, intervalMs: 1000 } }, 'rateLimit.max'],
      [{ rateLimit: { max: 5 } }, 'rateLimit.intervalMs'],
      [{ burst: 3 }, 'burst'],
    ] as const) {
      const r = await http(s.url, 'PATCH', '/v1/queues/mail', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.match(r.body.error.message, new RegExp(field.replace('.', '\\.')), `${JSON.stringify(body)} → ${r.body.error.message}`);
    }
    const empty = await http(s.url, 'PATCH', '/v1/queues/mail', {});
    assert.equal(empty.status, 400);
  });

  it('concurrencyKey and rateKey are stored and shown', async () => {
    const r = await http(s.url, 'POST', '/v1/jobs', { type: 'later', delayMs: 60_000, concurrencyKey: 'tenant-1' });
    assert.deepEqual([r.body.concurrencyKey, r.body.rateKey], ['tenant-1', 'tenant-1']);
    const g = await http(s.url, 'GET', `/v1/jobs/${r.body.id}`);
    assert.deepEqual([g.body.concurrencyKey, g.body.rateKey, g.body.key, g.body.dependsOn], ['tenant-1', 'tenant-1', null, []]);
  });
});
