/**
 * Issue #13: the route × scope matrix, derived from the route table. Every
 * route must declare its scope (config.scope); for every route and every
 * scope, a token holding only that scope gets 2xx when the scope suffices
 * and 403 `forbidden` when it does not; no token and a bad token get 401
 * `unauthorized` with a WWW-Authenticate challenge; public routes answer
 * without a token. A new route needs a sample request below (a GET without
 * parameters has one by default), or this test fails naming it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LeasedJob } from '../../src/contracts/job.js';
import { routeTable } from '../../src/http/auth/auth-hook.js';
import { satisfies, SCOPES, type Scope } from '../../src/http/auth/scopes.js';
import { TokenService } from '../../src/http/auth/token-service.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface Sample {
  method: string;
  path: string;
  body?: unknown;
}

let s: TestServer;
let service: TokenService;
const tokens = new Map<Scope, string>();
let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}`;

/** A job in a queue nobody works, so it stays as the sample left it. */
const idleJob = async (extra: Record<string, unknown> = {}) => s.jobq.enqueue({ type: 'idle', queue: 'idle', ...extra });
const leased = async (): Promise<LeasedJob> => {
  const queue = unique('lease');
  await s.jobq.enqueue({ type: 'idle', queue });
  const [job] = await s.jobq.claim({ queue, max: 1 });
  return job!;
};
const withSchedule = async () => {
  const name = unique('sched');
  await s.jobq.schedules.upsert({ name, cron: '0 0 1 1 *', job: { type: 'idle', queue: 'idle' } });
  return name;
};

/** One fresh request per call, that succeeds with a token of enough scope. Keyed by `METHOD url`. */
const SAMPLES: Record<string, () => Promise<Sample>> = {
  'POST /enqueue': async () => ({ method: 'POST', path: '/enqueue', body: { type: 'idle', queue: 'idle' } }),
  'GET /status/:id': async () => ({ method: 'GET', path: `/status/${(await idleJob()).id}` }),
  'POST /v1/jobs': async () => ({ method: 'POST', path: '/v1/jobs', body: { type: 'idle', queue: 'idle' } }),
  'GET /v1/jobs/:id': async () => ({ method: 'GET', path: `/v1/jobs/${(await idleJob()).id}` }),
  'GET /v1/jobs': async () => ({ method: 'GET', path: '/v1/jobs?queue=idle&limit=1' }),
  'POST /v1/jobs/prune': async () => ({ method: 'POST', path: '/v1/jobs/prune', body: {} }),
  'POST /v1/jobs/:id/cancel': async () => ({ method: 'POST', path: `/v1/jobs/${(await idleJob()).id}/cancel` }),
  'POST /v1/jobs/:id/retry': async () => {
    const job = await idleJob();
    await s.jobq.cancel(job.id);
    return { method: 'POST', path: `/v1/jobs/${job.id}/retry` };
  },
  'POST /v1/flows': async () => ({ method: 'POST', path: '/v1/flows', body: { job: { type: 'idle', queue: 'idle' }, children: [{ job: { type: 'idle', queue: 'idle' } }] } }),
  'GET /v1/queues': async () => ({ method: 'GET', path: '/v1/queues' }),
  'PATCH /v1/queues/:name': async () => ({ method: 'PATCH', path: `/v1/queues/${unique('q')}`, body: { concurrency: 5 } }),
  'POST /v1/queues/:name/pause': async () => ({ method: 'POST', path: `/v1/queues/${unique('q')}/pause` }),
  'POST /v1/queues/:name/resume': async () => ({ method: 'POST', path: `/v1/queues/${unique('q')}/resume` }),
  'PUT /v1/schedules/:name': async () => ({ method: 'PUT', path: `/v1/schedules/${unique('sched')}`, body: { cron: '0 0 1 1 *', job: { type: 'idle', queue: 'idle' } } }),
  'GET /v1/schedules': async () => ({ method: 'GET', path: '/v1/schedules' }),
  'GET /v1/schedules/:name': async () => ({ method: 'GET', path: `/v1/schedules/${await withSchedule()}` }),
  'DELETE /v1/schedules/:name': async () => ({ method: 'DELETE', path: `/v1/schedules/${await withSchedule()}` }),
  'POST /v1/schedules/:name/pause': async () => ({ method: 'POST', path: `/v1/schedules/${await withSchedule()}/pause` }),
  'POST /v1/schedules/:name/resume': async () => ({ method: 'POST', path: `/v1/schedules/${await withSchedule()}/resume` }),
  'POST /v1/queues/:name/claim': async () => {
    const queue = unique('claim');
    await s.jobq.enqueue({ type: 'idle', queue });
    return { method: 'POST', path: `/v1/queues/${queue}/claim`, body: { max: 1 } };
  },
  'POST /v1/jobs/:id/complete': async () => {
    const j = await leased();
    return { method: 'POST', path: `/v1/jobs/${j.id}/complete`, body: { leaseToken: j.leaseToken, result: { ok: true } } };
  },
  'POST /v1/jobs/:id/fail': async () => {
    const j = await leased();
    return { method: 'POST', path: `/v1/jobs/${j.id}/fail`, body: { leaseToken: j.leaseToken, error: { message: 'no' } } };
  },
  'POST /v1/jobs/:id/progress': async () => {
    const j = await leased();
    return { method: 'POST', path: `/v1/jobs/${j.id}/progress`, body: { leaseToken: j.leaseToken, progress: 50 } };
  },
  'POST /v1/jobs/:id/release': async () => {
    const j = await leased();
    return { method: 'POST', path: `/v1/jobs/${j.id}/release`, body: { leaseToken: j.leaseToken } };
  },
  'POST /v1/leases/extend': async () => {
    const j = await leased();
    return { method: 'POST', path: '/v1/leases/extend', body: { leases: [{ id: j.id, leaseToken: j.leaseToken }] } };
  },
  'POST /v1/leases/finish': async () => {
    const j = await leased();
    return { method: 'POST', path: '/v1/leases/finish', body: { finishes: [{ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' }] } };
  },
  'POST /v1/tokens': async () => ({ method: 'POST', path: '/v1/tokens', body: { name: unique('tok'), scopes: ['jobs:read'] } }),
  'GET /v1/tokens': async () => ({ method: 'GET', path: '/v1/tokens' }),
  'POST /v1/tokens/:name/revoke': async () => {
    const { token } = await service.create({ name: unique('tok'), scopes: ['jobs:read'] });
    return { method: 'POST', path: `/v1/tokens/${token.name}/revoke` };
  },
  // Issue #14's routes (used once they are in the route table).
  'GET /v1/events': async () => ({ method: 'GET', path: '/v1/events?queue=idle' }),
  'POST /v1/queues/:name/retry-failed': async () => ({ method: 'POST', path: `/v1/queues/${unique('q')}/retry-failed` }),
  'POST /v1/queues/:name/delete-finished': async () => ({ method: 'POST', path: `/v1/queues/${unique('q')}/delete-finished` }),
};

/** Sends a sample; a streaming answer (SSE) is cut once its status is known. */
async function send(sample: Sample, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (sample.body !== undefined) headers['content-type'] = 'application/json';
  const ctl = new AbortController();
  const res = await fetch(s.url + sample.path, { method: sample.method, headers, signal: ctl.signal, ...(sample.body !== undefined && { body: JSON.stringify(sample.body) }) });
  if (res.headers.get('content-type')?.includes('text/event-stream')) {
    ctl.abort();
    return { status: res.status, body: undefined, headers: res.headers };
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, headers: res.headers };
}

function sampleFor(method: string, url: string): (() => Promise<Sample>) | undefined {
  return SAMPLES[`${method} ${url}`] ?? (method === 'GET' && !url.includes(':') ? async () => ({ method, path: url }) : undefined);
}

describe('route × scope matrix (real server on loopback, SQLite, auth on)', () => {
  before(async () => {
    s = await startTestServer({ handlers: { idle: () => {} } });
    service = new TokenService(s.jobq.store);
    for (const scope of SCOPES) tokens.set(scope, (await service.create({ name: `only-${scope.replace(':', '-')}`, scopes: [scope] })).secret);
    // Tokens made straight in the store: the server sees them at its next read (500 ms).
    await waitFor(async () => (await send({ method: 'GET', path: '/v1/queues' })).status === 401, { what: 'auth to apply' });
  });
  after(async () => s.close());

  it('the route table is not empty and holds the lease and token routes', () => {
    const urls = routeTable(s.app).map((r) => `${r.method} ${r.url}`);
    for (const must of ['POST /v1/queues/:name/claim', 'POST /v1/leases/finish', 'POST /v1/tokens', 'GET /openapi.json', 'GET /healthz']) assert.ok(urls.includes(must), must);
  });

  it('every route declares a scope', () => {
    const missing = routeTable(s.app).filter((r) => r.scope === undefined).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'declare config.scope on these routes (see src/http/auth/index.ts)');
  });

  it('every route has a sample request in this test', () => {
    const missing = routeTable(s.app).filter((r) => !sampleFor(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'add a sample request for these routes to SAMPLES');
  });

  // The table is read after the server starts, so the cases are made inside one test per route.
  it('each route: 401 without a token or with a bad one, 403 or 2xx by scope, 2xx for public routes', async (t) => {
    for (const route of routeTable(s.app)) {
      const make = sampleFor(route.method, route.url);
      if (!make || route.scope === undefined) continue; // failed above
      await t.test(`${route.method} ${route.url} (${route.scope})`, async () => {
        if (route.scope === 'public') {
          const r = await send(await make());
          assert.ok(r.status >= 200 && r.status < 300, `public route answered ${r.status} without a token`);
          return;
        }
        const none = await send(await make());
        assert.equal(none.status, 401);
        assert.equal(none.body?.error?.code, 'unauthorized');
        assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="jobq"/);
        const bad = await send(await make(), `jobq_${randomUUID()}`);
        assert.equal(bad.status, 401);
        assert.match(bad.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
        for (const scope of SCOPES) {
          const r = await send(await make(), tokens.get(scope));
          if (satisfies([scope], route.scope!)) assert.ok(r.status >= 200 && r.status < 300, `a ${scope} token got ${r.status} ${JSON.stringify(r.body)}`);
          else {
            assert.equal(r.status, 403, `a ${scope} token got ${r.status}`);
            assert.equal(r.body?.error?.code, 'forbidden');
            assert.match(r.headers.get('www-authenticate') ?? '', new RegExp(`error="insufficient_scope", scope="${route.scope}"`));
          }
        }
      });
    }
  });
});
