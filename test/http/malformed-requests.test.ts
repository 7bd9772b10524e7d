/**
 * A table of malformed requests: every one gets a documented 4xx with the
 * error shape, nothing is stored, and the server stays healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ERROR_CODES } from '../../src/contracts/errors.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const job = (extra: Record<string, unknown>) => ({ type: 'echo', ...extra });
const big = 'x'.repeat(1_100_000);

const CASES: Case[] = [
  // Body syntax
  { name: 'truncated JSON', method: 'POST', path: '/v1/jobs', body: '{"type":"echo"', status: 400, code: 'invalid_json' },
  { name: 'trailing garbage', method: 'POST', path: '/v1/jobs', body: '{"type":"echo"} x', status: 400, code: 'invalid_json' },
  { name: 'single quotes', method: 'POST', path: '/v1/jobs', body: "{'type':'echo'}", status: 400, code: 'invalid_json' },
  { name: 'bare word', method: 'POST', path: '/v1/jobs', body: 'hello', status: 400, code: 'invalid_json' },
  { name: 'NaN literal', method: 'POST', path: '/v1/jobs', body: '{"type":"echo","priority":NaN}', status: 400, code: 'invalid_json' },
  { name: '__proto__ key', method: 'POST', path: '/v1/jobs', body: '{"type":"echo","payload":{"__proto__":{"x":1}}}', status: 400, code: 'invalid_json' },
  { name: 'constructor.prototype key', method: 'POST', path: '/v1/jobs', body: '{"type":"echo","payload":{"constructor":{"prototype":{"x":1}}}}', status: 400, code: 'invalid_json' },
  { name: 'seed enqueue with truncated JSON', method: 'POST', path: '/enqueue', body: '{"payload":', status: 400, code: 'invalid_json' },
  // Content types
  { name: 'text/plain body', method: 'POST', path: '/v1/jobs', body: '{"type":"echo"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'form body', method: 'POST', path: '/v1/jobs', body: 'type=echo', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'xml body', method: 'POST', path: '/v1/jobs', body: '<job/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'unsupported_media_type' },
  { name: 'multipart body', method: 'POST', path: '/enqueue', body: '--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' }, status: 415, code: 'unsupported_media_type' },
  // Shapes and types
  { name: 'missing type', method: 'POST', path: '/v1/jobs', body: { payload: 1 }, status: 400, code: 'invalid_request' },
  { name: 'type is a number', method: 'POST', path: '/v1/jobs', body: { type: 5 }, status: 400, code: 'invalid_request' },
  { name: 'type is empty', method: 'POST', path: '/v1/jobs', body: { type: '' }, status: 400, code: 'invalid_request' },
  { name: 'type has a slash', method: 'POST', path: '/v1/jobs', body: { type: 'a/b' }, status: 400, code: 'invalid_request' },
  { name: 'type too long', method: 'POST', path: '/v1/jobs', body: { type: 'a'.repeat(200) }, status: 400, code: 'invalid_request' },
  { name: 'queue with spaces', method: 'POST', path: '/v1/jobs', body: job({ queue: 'my queue' }), status: 400, code: 'invalid_request' },
  { name: 'queue with path traversal', method: 'POST', path: '/v1/jobs', body: job({ queue: '../etc' }), status: 400, code: 'invalid_request' },
  { name: 'queue with SQL', method: 'POST', path: '/v1/jobs', body: job({ queue: "x'; DROP TABLE jobs;--" }), status: 400, code: 'invalid_request' },
  { name: 'queue is null', method: 'POST', path: '/v1/jobs', body: job({ queue: null }), status: 400, code: 'invalid_request' },
  { name: 'queue with emoji', method: 'POST', path: '/v1/jobs', body: job({ queue: 'q🔥' }), status: 400, code: 'invalid_request' },
  { name: 'priority as string', method: 'POST', path: '/v1/jobs', body: job({ priority: '5' }), status: 400, code: 'invalid_request' },
  { name: 'priority fractional', method: 'POST', path: '/v1/jobs', body: job({ priority: 1.5 }), status: 400, code: 'invalid_request' },
  { name: 'priority huge', method: 'POST', path: '/v1/jobs', body: job({ priority: 1e300 }), status: 400, code: 'invalid_request' },
  { name: 'priority too negative', method: 'POST', path: '/v1/jobs', body: job({ priority: -5_000_000 }), status: 400, code: 'invalid_request' },
  { name: 'maxAttempts zero', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: 0 }), status: 400, code: 'invalid_request' },
  { name: 'maxAttempts negative', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: -1 }), status: 400, code: 'invalid_request' },
  { name: 'maxAttempts too many', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: 100_000 }), status: 400, code: 'invalid_request' },
  { name: 'maxAttempts boolean', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: true }), status: 400, code: 'invalid_request' },
  { name: 'timeoutMs zero', method: 'POST', path: '/v1/jobs', body: job({ timeoutMs: 0 }), status: 400, code: 'invalid_request' },
  { name: 'timeoutMs string', method: 'POST', path: '/v1/jobs', body: job({ timeoutMs: '100' }), status: 400, code: 'invalid_request' },
  { name: 'delayMs negative', method: 'POST', path: '/v1/jobs', body: job({ delayMs: -1 }), status: 400, code: 'invalid_request' },
  { name: 'delayMs beyond ten years', method: 'POST', path: '/v1/jobs', body: job({ delayMs: 1e15 }), status: 400, code: 'invalid_request' },
  { name: 'runAt not a date', method: 'POST', path: '/v1/jobs', body: job({ runAt: 'tomorrow' }), status: 400, code: 'invalid_request' },
  { name: 'runAt negative epoch', method: 'POST', path: '/v1/jobs', body: job({ runAt: -5 }), status: 400, code: 'invalid_request' },
  { name: 'runAt and delayMs together', method: 'POST', path: '/v1/jobs', body: job({ runAt: 0, delayMs: 5 }), status: 400, code: 'invalid_request' },
  { name: 'runAt as object', method: 'POST', path: '/v1/jobs', body: job({ runAt: {} }), status: 400, code: 'invalid_request' },
  { name: 'unknown field', method: 'POST', path: '/v1/jobs', body: job({ maxAttempt: 3 }), status: 400, code: 'invalid_request' },
  { name: 'body is a number', method: 'POST', path: '/v1/jobs', body: 42, status: 400, code: 'invalid_request' },
  { name: 'body is a string', method: 'POST', path: '/v1/jobs', body: '"echo"', status: 400, code: 'invalid_request' },
  { name: 'body is null', method: 'POST', path: '/v1/jobs', body: 'null', status: 400, code: 'invalid_request' },
  { name: 'no body on /v1/jobs', method: 'POST', path: '/v1/jobs', status: 400, code: 'invalid_request' },
  { name: 'empty array', method: 'POST', path: '/v1/jobs', body: [], status: 400, code: 'invalid_request' },
  { name: 'array with a bad item', method: 'POST', path: '/v1/jobs', body: [job({}), job({ priority: 'high' })], status: 400, code: 'invalid_request' },
  { name: 'array of numbers', method: 'POST', path: '/v1/jobs', body: [1, 2], status: 400, code: 'invalid_request' },
  { name: 'nested arrays', method: 'POST', path: '/v1/jobs', body: [[job({})]], status: 400, code: 'invalid_request' },
  { name: 'seed enqueue with bad type', method: 'POST', path: '/enqueue', body: { type: 7 }, status: 400, code: 'invalid_request' },
  { name: 'seed enqueue with a number body', method: 'POST', path: '/enqueue', body: '12', status: 400, code: 'invalid_request' },
  // Limits
  { name: 'payload over 1 MiB', method: 'POST', path: '/v1/jobs', body: job({ payload: big }), status: 413, code: 'payload_too_large' },
  { name: 'payload over 1 MiB in a batch item', method: 'POST', path: '/v1/jobs', body: [job({}), job({ payload: big })], status: 413, code: 'payload_too_large' },
  { name: 'batch over 1,000', method: 'POST', path: '/v1/jobs', body: Array.from({ length: 1001 }, () => job({})), status: 413, code: 'batch_too_large' },
  { name: 'body over the request limit', method: 'POST', path: '/v1/jobs', body: job({ payload: 'y'.repeat(3_000_000) }), status: 413, code: 'payload_too_large' },
  // Ids and routes
  { name: 'id not a uuid', method: 'GET', path: '/v1/jobs/123', status: 400, code: 'invalid_request' },
  { name: 'id with traversal', method: 'GET', path: '/v1/jobs/..%2F..%2Fetc%2Fpasswd', status: 400, code: 'invalid_request' },
  { name: 'id with SQL', method: 'GET', path: "/status/1'%20OR%20'1'='1", status: 400, code: 'invalid_request' },
  { name: 'unknown uuid', method: 'GET', path: `/v1/jobs/${randomUUID()}`, status: 404, code: 'not_found' },
  { name: 'cancel unknown uuid', method: 'POST', path: `/v1/jobs/${randomUUID()}/cancel`, status: 404, code: 'not_found' },
  { name: 'retry unknown uuid', method: 'POST', path: `/v1/jobs/${randomUUID()}/retry`, status: 404, code: 'not_found' },
  { name: 'cancel with a bad id', method: 'POST', path: '/v1/jobs/nope/cancel', status: 400, code: 'invalid_request' },
  { name: 'unknown route', method: 'GET', path: '/v2/jobs', status: 404, code: 'route_not_found' },
  { name: 'wrong method', method: 'DELETE', path: '/v1/jobs', status: 405, code: 'method_not_allowed' },
  { name: 'PUT on enqueue', method: 'PUT', path: '/enqueue', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on a job', method: 'DELETE', path: `/v1/jobs/${randomUUID()}`, status: 405, code: 'method_not_allowed' },
  { name: 'pause a bad queue name', method: 'POST', path: '/v1/queues/bad%20name/pause', status: 400, code: 'invalid_request' },
  // Query strings
  { name: 'limit zero', method: 'GET', path: '/v1/jobs?limit=0', status: 400, code: 'invalid_request' },
  { name: 'limit too large', method: 'GET', path: '/v1/jobs?limit=5000', status: 400, code: 'invalid_request' },
  { name: 'limit not a number', method: 'GET', path: '/v1/jobs?limit=ten', status: 400, code: 'invalid_request' },
  { name: 'limit negative', method: 'GET', path: '/v1/jobs?limit=-1', status: 400, code: 'invalid_request' },
  { name: 'unknown status', method: 'GET', path: '/v1/jobs?status=done', status: 400, code: 'invalid_request' },
  { name: 'bad queue filter', method: 'GET', path: '/v1/jobs?queue=a%20b', status: 400, code: 'invalid_request' },
  { name: 'forged cursor', method: 'GET', path: '/v1/jobs?cursor=AAAA', status: 400, code: 'invalid_request' },
  { name: 'unknown query parameter', method: 'GET', path: '/v1/jobs?sort=desc', status: 400, code: 'invalid_request' },
];

describe('malformed requests', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ workers: false, http: { bodyLimitBytes: 2 * 1024 * 1024 } });
  });
  after(async () => s.close());

  it(`has at least 50 cases (${CASES.length})`, () => assert.ok(CASES.length >= 50));

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await http(s.url, c.method, c.path, c.body, c.headers);
      assert.equal(res.status, c.status, res.text.slice(0, 300));
      assert.equal(res.body?.error?.code, c.code, res.text.slice(0, 300));
      assert.equal(typeof res.body.error.message, 'string');
      assert.ok((ERROR_CODES as readonly string[]).includes(res.body.error.code));
      assert.doesNotMatch(res.text, /\n\s+at /, 'no stack trace in the answer');
    });
  }

  it('answers a raw request with a bad Content-Length with a 400 and keeps serving', async () => {
    const port = new URL(s.url).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => {
        sock.write('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}');
      });
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
      sock.setTimeout(5000, () => sock.destroy(new Error('no answer')));
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
  });

  it('stored nothing and is still healthy afterwards', async () => {
    const queues = await http(s.url, 'GET', '/v1/queues');
    const total = queues.body.queues.reduce((n: number, q: { counts: Record<string, number> }) => n + Object.values(q.counts).reduce((a, b) => a + b, 0), 0);
    assert.equal(total, 0, 'no malformed request stored a job');
    assert.equal((await http(s.url, 'GET', '/healthz')).status, 200);
    const ok = await http(s.url, 'POST', '/v1/jobs', job({}));
    assert.equal(ok.status, 201);
  });
});
