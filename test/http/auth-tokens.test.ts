/**
 * Issue #13: API tokens beyond the scope matrix. Tokens limited to queues
 * touch only those; revocation reaches every node of a Postgres cluster
 * within a second (and ends a revoked token's waiting claim); a token made
 * on one node works on another at once; a flood of bad secrets costs one
 * store read at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../src/contracts/store.js';
import { Jobq } from '../../src/core/jobq.js';
import { createHttpApp } from '../../src/http/app.js';
import { sameHash, hashSecret } from '../../src/http/auth/secrets.js';
import { TokenCache } from '../../src/http/auth/token-cache.js';
import { TokenService } from '../../src/http/auth/token-service.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';
import { watchStoreCalls } from '../helpers/store-calls.js';
import { waitFor } from '../helpers/wait-for.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('tokens limited to queues (real server on loopback, SQLite)', () => {
  let s: TestServer;
  let limited = '';
  let limitedAdmin = '';
  before(async () => {
    s = await startTestServer();
    const service = new TokenService(s.jobq.store);
    limited = (await service.create({ name: 'mail', scopes: ['jobs:read', 'jobs:write', 'worker'], queues: ['mail'] })).secret;
    limitedAdmin = (await service.create({ name: 'mail-admin', scopes: ['admin'], queues: ['mail'] })).secret;
    // Made straight in the store: the server applies auth from its next read of the tokens (500 ms).
    await waitFor(async () => (await http(s.url, 'GET', '/v1/queues')).status === 401, { what: 'auth to apply' });
  });
  after(async () => s.close());

  it('may enqueue, read, list, claim and cancel in its queues only', async () => {
    const ok = await http(s.url, 'POST', '/v1/jobs', { type: 't', queue: 'mail' }, bearer(limited));
    assert.equal(ok.status, 201);
    const other = await http(s.url, 'POST', '/v1/jobs', [{ type: 't', queue: 'mail' }, { type: 't', queue: 'sms' }], bearer(limited));
    assert.equal(other.status, 403);
    assert.match(other.body.error.message, /may not touch queue "sms" \(it is limited to mail\)/);
    const dflt = await http(s.url, 'POST', '/v1/jobs', { type: 't' }, bearer(limited));
    assert.equal(dflt.status, 403, 'no queue named means the default queue, which is not one of its');
    const foreign = (await s.jobq.enqueue({ type: 't', queue: 'sms' })).id;
    assert.equal((await http(s.url, 'GET', `/v1/jobs/${foreign}`, undefined, bearer(limited))).status, 403);
    assert.equal((await http(s.url, 'POST', `/v1/jobs/${foreign}/cancel`, undefined, bearer(limited))).status, 403);
    assert.equal((await s.jobq.get(foreign))?.status, 'pending', 'the refused cancel changed nothing');
    assert.equal((await http(s.url, 'GET', `/v1/jobs/${ok.body.id}`, undefined, bearer(limited))).status, 200);
    assert.equal((await http(s.url, 'GET', '/v1/jobs', undefined, bearer(limited))).status, 403, 'a listing across queues');
    assert.equal((await http(s.url, 'GET', '/v1/jobs?queue=mail', undefined, bearer(limited))).status, 200);
    assert.equal((await http(s.url, 'POST', '/v1/queues/sms/claim', {}, bearer(limited))).status, 403);
    const claimed = await http(s.url, 'POST', '/v1/queues/mail/claim', {}, bearer(limited));
    assert.equal(claimed.body.jobs[0].id, ok.body.id);
    const queues = await http(s.url, 'GET', '/v1/queues', undefined, bearer(limited));
    assert.deepEqual(queues.body.queues.map((q: { name: string }) => q.name), ['mail'], 'sees only its queues');
  });

  it('a queue-limited admin manages its queues but not tokens (it could mint an unlimited one)', async () => {
    assert.equal((await http(s.url, 'POST', '/v1/queues/mail/pause', undefined, bearer(limitedAdmin))).status, 200);
    assert.equal((await http(s.url, 'POST', '/v1/queues/sms/pause', undefined, bearer(limitedAdmin))).status, 403);
    assert.equal((await http(s.url, 'POST', '/v1/tokens', { name: 'escape', scopes: ['admin'] }, bearer(limitedAdmin))).status, 403);
    assert.equal((await http(s.url, 'GET', '/v1/tokens', undefined, bearer(limitedAdmin))).status, 403);
    const put = await http(s.url, 'PUT', '/v1/schedules/nightly', { cron: '0 3 * * *', job: { type: 't', queue: 'sms' } }, bearer(limitedAdmin));
    assert.equal(put.status, 403);
    assert.equal((await http(s.url, 'PUT', '/v1/schedules/nightly', { cron: '0 3 * * *', job: { type: 't', queue: 'mail' } }, bearer(limitedAdmin))).status, 200);
  });
});

describe('tokens across a Postgres cluster (two nodes, one schema)', () => {
  const opened: { jobq: Jobq; app: FastifyInstance; url: string }[] = [];
  let admin = '';
  before(async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    for (let i = 0; i < 2; i++) {
      const jobq = new Jobq({ store: await PostgresStore.open({ connectionString: url, schema }), queues: {} });
      const app = await createHttpApp({ jobq });
      opened.push({ jobq, app, url: await app.listen({ host: '127.0.0.1', port: 0 }) });
    }
    admin = (await new TokenService(opened[0]!.jobq.store).create({ name: 'admin', scopes: ['admin'] })).secret;
  });
  after(async () => {
    for (const o of opened) {
      await o.app.close();
      await o.jobq.close(0);
    }
    await stopSharedCluster();
  });

  it('a token made on one node works on the other at once; revoked there, it is refused here within a second', async () => {
    const [a, b] = opened as [(typeof opened)[0], (typeof opened)[0]];
    const made = await http(a.url, 'POST', '/v1/tokens', { name: 'ci', scopes: ['jobs:read'] }, bearer(admin));
    assert.equal(made.status, 201);
    const ci = made.body.secret as string;
    assert.equal((await http(b.url, 'GET', '/v1/queues', undefined, bearer(ci))).status, 200, 'known on the other node at once');
    assert.equal((await http(a.url, 'GET', '/v1/queues', undefined, bearer(ci))).status, 200);
    const t0 = Date.now();
    assert.equal((await http(b.url, 'POST', '/v1/tokens/ci/revoke', undefined, bearer(admin))).status, 200);
    let ms = 0;
    for (;;) {
      ms = Date.now() - t0;
      if ((await http(a.url, 'GET', '/v1/queues', undefined, bearer(ci))).status === 401) break;
      assert.ok(ms < 1000, `node A still took the revoked token ${ms} ms after the revocation`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it("a claim waiting under a token that gets revoked on another node ends with 401 within a second, not at its waitMs", async () => {
    const [a, b] = opened as [(typeof opened)[0], (typeof opened)[0]];
    const w = (await http(a.url, 'POST', '/v1/tokens', { name: 'w', scopes: ['worker'] }, bearer(admin))).body.secret as string;
    const calls = watchStoreCalls(a.jobq.store, 'nothing');
    const polling = http(a.url, 'POST', '/v1/queues/nothing/claim', { waitMs: 20_000 }, bearer(w));
    try {
      await waitFor(() => calls.claims >= 1 && calls.dueReads >= 1, { what: 'the claim to find nothing and wait' });
    } finally {
      calls.restore();
    }
    const t0 = Date.now();
    await http(b.url, 'POST', '/v1/tokens/w/revoke', undefined, bearer(admin));
    const r = await polling;
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'unauthorized');
    assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
  });
});

describe('token cache', () => {
  it('reads the store once at a time however many unknown secrets arrive together', async () => {
    const store = new MemoryStore();
    let reads = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const list = store.tokenList.bind(store);
    (store as Store).tokenList = async (p) => {
      reads++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return list(p);
    };
    const cache = new TokenCache(store, { refreshMs: 60_000 });
    await cache.start();
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => cache.find(`jobq_bad_${i}`)));
    assert.ok(answers.every((a) => a === null));
    assert.equal(maxInFlight, 1);
    assert.ok(reads - before <= 2, `${reads - before} reads for 200 bad secrets at once`);
    await cache.stop();
  });

  it("a connection's later requests reuse the token its header proved, until the live set is read again or the token is revoked here", async () => {
    const store = new MemoryStore();
    const service = new TokenService(store);
    const { secret } = await service.create({ name: 'w', scopes: ['worker'] });
    const other = (await service.create({ name: 'v', scopes: ['worker'] })).secret;
    const cache = new TokenCache(store, { refreshMs: 60_000 });
    await cache.start();
    const conn = {};
    const header = `Bearer ${secret}`;
    assert.equal(cache.recall(conn, header), undefined, 'nothing proved on it yet');
    assert.equal(cache.lookup(secret, { conn, header })?.name, 'w');
    assert.equal(cache.recall(conn, `Bearer ${secret}`)?.name, 'w', 'the same header, another string');
    assert.equal(cache.recall({}, header), undefined, 'another connection proves its own');
    assert.equal(cache.recall(conn, `Bearer ${other}`), undefined, 'another header of the same length');
    assert.equal(cache.recall(conn, `${header}x`), undefined);
    assert.equal(cache.recall(undefined, header), undefined);
    await cache.reload();
    assert.equal(cache.recall(conn, header), undefined, 'proved under the previous read of the live set');
    assert.equal(cache.lookup(secret, { conn, header })?.name, 'w');
    cache.forget('w');
    assert.equal(cache.recall(conn, header), undefined, 'revoked here: at once');
    assert.equal(cache.lookup(secret, { conn, header }), undefined);
    await cache.stop();
  });

  it('compares hashes in constant time (crypto.timingSafeEqual), refusing unequal lengths', () => {
    const h = hashSecret('jobq_x');
    assert.equal(sameHash(h, hashSecret('jobq_x')), true);
    assert.equal(sameHash(h, hashSecret('jobq_y')), false);
    assert.equal(sameHash(h, h.slice(0, 32)), false);
    assert.equal(sameHash('', ''), false);
  });
});
