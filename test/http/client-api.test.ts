/**
 * Issue #13: `jobq/client`'s JobqClient against a real server over loopback
 * with auth on: every call of the issue's list (enqueue, enqueueMany, get,
 * list, cancel, retry, queues, pause, resume, schedules, the token routes),
 * each server refusal turned into a JobqError with the server's code and
 * status, and the token's scope and queues applied to the client's calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobqClient, JobqError } from '../../src/client/index.js';
import { TokenService } from '../../src/http/auth/token-service.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

type Jobs = { email: { to: string }; ping: null };

let s: TestServer;
let admin: JobqClient<Jobs>;
let secrets: { admin: string; writer: string; reader: string; mail: string };

/** Rejects with a JobqError of this code and HTTP status. */
const refusedWith = async (call: Promise<unknown>, code: string, status: number) =>
  assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof JobqError, String(e));
    assert.deepEqual([e.code, e.details?.status], [code, status], e.message);
    return true;
  });

describe('JobqClient against a real server (loopback, SQLite, auth on)', () => {
  before(async () => {
    // No in-process workers: the jobs stay as the calls leave them.
    s = await startTestServer({ workers: false });
    const service = new TokenService(s.jobq.store);
    secrets = {
      admin: (await service.create({ name: 'admin', scopes: ['admin'] })).secret,
      writer: (await service.create({ name: 'writer', scopes: ['jobs:write'] })).secret,
      reader: (await service.create({ name: 'reader', scopes: ['jobs:read'] })).secret,
      mail: (await service.create({ name: 'mail', scopes: ['jobs:read', 'jobs:write'], queues: ['mail'] })).secret,
    };
    admin = new JobqClient<Jobs>({ url: s.url, token: secrets.admin });
    // Tokens made straight in the store: the server applies auth from its next read of them.
    await waitFor(async () => new JobqClient({ url: s.url }).queues().then(() => false, (e: JobqError) => e.code === 'unauthorized'), { what: 'auth to apply' });
  });
  after(async () => s.close());

  it('enqueue, enqueueMany and get: typed payloads in, the stored job out', async () => {
    const one = await admin.enqueue({ type: 'email', payload: { to: 'a@example.com' }, queue: 'mail', priority: 3, maxAttempts: 2 });
    assert.deepEqual([one.type, one.queue, one.status, one.priority, one.maxAttempts, one.payload?.to], ['email', 'mail', 'pending', 3, 2, 'a@example.com']);
    const many = await admin.enqueueMany([
      { type: 'email', payload: { to: 'b@example.com' }, queue: 'mail' },
      { type: 'ping', queue: 'mail', delayMs: 60_000 },
    ]);
    assert.deepEqual(many.map((j) => [j.type, j.status]), [['email', 'pending'], ['ping', 'scheduled']]);
    const got = await admin.get(many[0]!.id);
    assert.deepEqual([got.id, got.payload], [many[0]!.id, { to: 'b@example.com' }]);
    await refusedWith(admin.get('01a22426-acc9-70dd-bf58-43715fb1e78d'), 'not_found', 404);
    await refusedWith(admin.enqueue({ type: 'email', payload: { to: 'x' }, priority: 1.5 } as never), 'invalid_request', 400);
  });

  it('list: a page of a queue, by status, with the cursor for the next', async () => {
    const q = 'listed';
    await admin.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'email' as const, payload: { to: `${i}@example.com` }, queue: q })));
    const first = await admin.list({ queue: q, status: 'pending', limit: 2, include: ['payload'] });
    assert.equal(first.jobs.length, 2);
    assert.ok(first.jobs.every((j) => j.queue === q && j.status === 'pending' && j.payload !== undefined));
    assert.ok(first.nextCursor);
    const rest = await admin.list({ queue: q, status: 'pending', limit: 2, cursor: first.nextCursor });
    assert.equal(rest.jobs.length, 1);
    assert.deepEqual(new Set([...first.jobs, ...rest.jobs].map((j) => j.id)).size, 3);
  });

  it('cancel and retry; an illegal transition is a JobqError with its code', async () => {
    const job = await admin.enqueue({ type: 'ping', queue: 'ops' });
    assert.equal((await admin.cancel(job.id)).status, 'cancelled');
    await refusedWith(admin.cancel(job.id), 'illegal_transition', 409);
    const again = await admin.retry(job.id);
    assert.deepEqual([again.status, again.attempts], ['pending', 0]);
  });

  it('queues, pause and resume', async () => {
    await admin.enqueue({ type: 'ping', queue: 'paused-q' });
    assert.deepEqual(await admin.pause('paused-q'), { name: 'paused-q', paused: true });
    const page = await admin.queues();
    const q = page.queues.find((x) => x.name === 'paused-q');
    assert.deepEqual([q?.paused, q?.counts.pending], [true, 1]);
    assert.deepEqual(await admin.resume('paused-q'), { name: 'paused-q', paused: false });
    assert.equal((await admin.queues()).queues.find((x) => x.name === 'paused-q')?.paused, false);
  });

  it('schedules: upsert, get, list, pause, resume, remove', async () => {
    const def = { cron: '0 3 * * *', tz: 'Europe/Berlin', job: { type: 'ping', queue: 'nightly' } };
    const made = await admin.schedules.upsert('nightly', def);
    assert.equal(made.changed, true);
    assert.deepEqual([made.schedule.name, made.schedule.cron, made.schedule.tz, made.schedule.paused], ['nightly', '0 3 * * *', 'Europe/Berlin', false]);
    assert.ok(made.schedule.nextRunAt);
    assert.equal((await admin.schedules.upsert('nightly', def)).changed, false, 'the same definition again changes nothing');
    assert.equal((await admin.schedules.get('nightly')).job.type, 'ping');
    assert.ok((await admin.schedules.list()).schedules.some((x) => x.name === 'nightly'));
    assert.equal((await admin.schedules.pause('nightly')).paused, true);
    assert.equal((await admin.schedules.resume('nightly')).paused, false);
    await admin.schedules.remove('nightly');
    await refusedWith(admin.schedules.get('nightly'), 'not_found', 404);
    await refusedWith(admin.schedules.upsert('bad', { cron: 'not cron', job: { type: 'ping' } }), 'invalid_request', 400);
  });

  it('tokens: create shows the secret once, list never does, revoke stops it', async () => {
    const made = await admin.tokens.create({ name: 'ci-client', scopes: ['jobs:read'] });
    assert.match(made.secret, /^jobq_/);
    const listed = await admin.tokens.list();
    assert.ok(listed.some((t) => t.name === 'ci-client'));
    assert.ok(!JSON.stringify(listed).includes(made.secret), 'no secret in the listing');
    const ci = new JobqClient({ url: s.url, token: made.secret });
    await ci.queues();
    await admin.tokens.revoke('ci-client');
    await refusedWith(ci.queues(), 'unauthorized', 401);
  });

  it("applies the token's scope and queues: 401 without a token, 403 beyond its scope or its queues", async () => {
    await refusedWith(new JobqClient({ url: s.url }).get('x'), 'unauthorized', 401);
    await refusedWith(new JobqClient({ url: s.url, token: 'jobq_not-a-token' }).queues(), 'unauthorized', 401);
    const writer = new JobqClient<Jobs>({ url: s.url, token: secrets.writer });
    const job = await writer.enqueue({ type: 'ping', queue: 'w' });
    await refusedWith(writer.get(job.id), 'forbidden', 403);
    await refusedWith(writer.pause('w'), 'forbidden', 403);
    const reader = new JobqClient<Jobs>({ url: s.url, token: secrets.reader });
    assert.equal((await reader.get(job.id)).id, job.id);
    await refusedWith(reader.cancel(job.id), 'forbidden', 403);
    await refusedWith(reader.tokens.list(), 'forbidden', 403);
    const mail = new JobqClient<Jobs>({ url: s.url, token: secrets.mail });
    await mail.enqueue({ type: 'email', payload: { to: 'c@example.com' }, queue: 'mail' });
    await refusedWith(mail.enqueue({ type: 'ping', queue: 'w' }), 'forbidden', 403);
    await refusedWith(mail.cancel(job.id), 'forbidden', 403);
    assert.deepEqual((await mail.queues()).queues.map((q) => q.name), ['mail'], 'sees only its queues');
  });
});
