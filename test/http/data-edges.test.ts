/**
 * Issue #9, item 10: data that survives every client. A runAt before 1970 is
 * due now (stored as now, never ahead of jobs already waiting, and always a
 * valid date-time in answers); integers JSON numbers cannot keep are refused
 * with the path of the number, in small bodies (parsed inline) and large ones
 * (parsed on a worker thread), single and batch; a stored stack shows the
 * handler's frames, not jobq's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { INLINE_PARSE_BYTES } from '../../src/http/body/json-body.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('runAt before 1970', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ workers: false });
  });
  after(async () => s.close());

  for (const runAt of ['0000-01-01T00:00:00+01:00', '1969-12-31T23:59:59Z', '1900-01-01T00:00:00.000Z', 0]) {
    it(`runAt ${JSON.stringify(runAt)}: due now, stored as now, answered as a valid date-time, never ahead of jobs already waiting`, async () => {
      const queue = `past-${String(runAt).replace(/[^0-9]/g, '')}`;
      const first = await http(s.url, 'POST', '/v1/jobs', { type: 'demo', queue });
      const past = await http(s.url, 'POST', '/v1/jobs', { type: 'demo', queue, runAt });
      assert.equal(past.status, 201, past.text);
      assert.equal(past.body.status, 'pending');
      assert.match(past.body.runAt, RFC3339);
      assert.ok(Date.parse(past.body.runAt) >= Date.parse(first.body.runAt), `${past.body.runAt} is not before ${first.body.runAt}`);
      assert.equal(past.body.runAt, past.body.createdAt, 'clamped to the time of the enqueue');
      const page = await http(s.url, 'GET', `/v1/jobs?queue=${queue}&status=pending`);
      assert.deepEqual(
        page.body.jobs.map((j: { id: string }) => j.id),
        [first.body.id, past.body.id],
        'claim order: the job that was waiting first stays first',
      );
      for (const j of page.body.jobs) assert.match(j.runAt, RFC3339);
    });
  }
});

describe('integers beyond ±2^53 are refused with their path', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ workers: false });
  });
  after(async () => s.close());

  const big = '9007199254740993';
  // A string long enough to push the body past the inline-parse limit, onto the worker thread.
  const pad = 'x'.repeat(INLINE_PARSE_BYTES + 10_000);
  const cases = [
    { name: 'single, small body', body: `{"type":"t","payload":{"n":${big}}}`, path: 'payload.n' },
    { name: 'single, small body, negative, nested', body: `{"type":"t","payload":{"a":[1,{"b":-${big}}]}}`, path: 'payload.a[1].b' },
    { name: 'batch, small body', body: `[{"type":"t"},{"type":"t","payload":{"n":${big}}}]`, path: 'jobs[1].payload.n' },
    { name: 'single, large body (worker thread)', body: `{"type":"t","payload":{"pad":"${pad}","n":${big}}}`, path: 'payload.n' },
    { name: 'batch, large body (worker thread)', body: `[{"type":"t","payload":"${pad}"},{"type":"t","payload":{"n":${big}}}]`, path: 'jobs[1].payload.n' },
    { name: 'seed enqueue, small body', body: `{"payload":{"ms":${big}}}`, url: '/enqueue', path: 'payload.ms' },
  ];
  for (const c of cases) {
    it(`${c.name}: 400 naming ${c.path}; nothing stored`, async () => {
      if (c.name.includes('large')) assert.ok(Buffer.byteLength(c.body) > INLINE_PARSE_BYTES);
      const res = await http(s.url, 'POST', c.url ?? '/v1/jobs', c.body);
      assert.equal(res.status, 400, res.text.slice(0, 300));
      assert.equal(res.body.error.code, 'invalid_request');
      assert.equal(res.body.error.details?.field, c.path);
      assert.ok(res.body.error.message.startsWith(`${c.path} is an integer beyond`), res.body.error.message);
    });
  }

  it('the largest exact integers are kept exactly', async () => {
    const res = await http(s.url, 'POST', '/v1/jobs', `{"type":"t","payload":{"max":9007199254740991,"min":-9007199254740991}}`);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.payload, { max: 9007199254740991, min: -9007199254740991 });
  });

  it('stored nothing from the refused bodies', async () => {
    const page = await http(s.url, 'GET', '/v1/jobs?limit=500');
    assert.equal(page.body.jobs.length, 1, 'only the exact one');
  });
});

describe("a stored stack shows the handler's frames, never jobq's", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      handlers: {
        explode: async () => {
          await Promise.resolve();
          throw new Error('handler blew up');
        },
      },
    });
  });
  after(async () => s.close());

  const here = fileURLToPath(import.meta.url);
  const ownDir = fileURLToPath(new URL('../../src/', import.meta.url));

  it(
    'errors[].stack keeps the message and this test file, drops dist/src and node:internal frames',
    async () => {
      const id = (await http(s.url, 'POST', '/v1/jobs', { type: 'explode', maxAttempts: 1 })).body.id as string;
      const job = await waitFor(async () => {
        const j = (await http(s.url, 'GET', `/v1/jobs/${id}`)).body;
        return j.status === 'failed' ? j : null;
      });
      const stack = job.errors[0].stack as string;
      assert.match(stack, /^Error: handler blew up\n/);
      assert.ok(stack.includes(here) || stack.includes(new URL(import.meta.url).href), `the handler's own frame is kept:\n${stack}`);
      assert.ok(!stack.includes(ownDir) && !stack.includes(new URL('../../src/', import.meta.url).href), `no frame of jobq's own files:\n${stack}`);
      assert.doesNotMatch(stack, /node:internal/, stack);
    },
  );
});
