/**
 * A table of malformed requests: every one gets a documented 4xx with the
 * error shape and a message that names the field and its rule (issue #9,
 * item 5), nothing is stored, and the server stays healthy.
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
  /** The whole message (a string) or its shape; every validation answer has one here. */
  message?: string | RegExp;
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
  { name: 'text/plain body', method: 'POST', path: '/v1/jobs', body: '{"type":"echo"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', message: "content-type must be application/json; got \"text/plain\"" },
  { name: 'form body', method: 'POST', path: '/v1/jobs', body: 'type=echo', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type', message: "content-type must be application/json; got \"application/x-www-form-urlencoded\"" },
  { name: 'xml body', method: 'POST', path: '/v1/jobs', body: '<job/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'unsupported_media_type' },
  { name: 'multipart body', method: 'POST', path: '/enqueue', body: '--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' }, status: 415, code: 'unsupported_media_type' },
  // Shapes and types
  { name: 'missing type', method: 'POST', path: '/v1/jobs', body: { payload: 1 }, status: 400, code: 'invalid_request', message: "type is required" },
  { name: 'type is a number', method: 'POST', path: '/v1/jobs', body: { type: 5 }, status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'type is empty', method: 'POST', path: '/v1/jobs', body: { type: '' }, status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'type has a slash', method: 'POST', path: '/v1/jobs', body: { type: 'a/b' }, status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'type too long', method: 'POST', path: '/v1/jobs', body: { type: 'a'.repeat(200) }, status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'queue with spaces', method: 'POST', path: '/v1/jobs', body: job({ queue: 'my queue' }), status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'queue with path traversal', method: 'POST', path: '/v1/jobs', body: job({ queue: '../etc' }), status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'queue with SQL', method: 'POST', path: '/v1/jobs', body: job({ queue: "x'; DROP TABLE jobs;--" }), status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'queue is null', method: 'POST', path: '/v1/jobs', body: job({ queue: null }), status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'queue with emoji', method: 'POST', path: '/v1/jobs', body: job({ queue: 'q🔥' }), status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'priority as string', method: 'POST', path: '/v1/jobs', body: job({ priority: '5' }), status: 400, code: 'invalid_request', message: "priority must be an integer from -1000000 to 1000000" },
  { name: 'priority fractional', method: 'POST', path: '/v1/jobs', body: job({ priority: 1.5 }), status: 400, code: 'invalid_request', message: "priority must be an integer from -1000000 to 1000000" },
  { name: 'priority huge', method: 'POST', path: '/v1/jobs', body: job({ priority: 1e300 }), status: 400, code: 'invalid_request', message: "priority must be an integer from -1000000 to 1000000" },
  { name: 'priority too negative', method: 'POST', path: '/v1/jobs', body: job({ priority: -5_000_000 }), status: 400, code: 'invalid_request', message: "priority must be an integer from -1000000 to 1000000" },
  { name: 'maxAttempts zero', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: 0 }), status: 400, code: 'invalid_request', message: "maxAttempts must be an integer from 1 to 1000" },
  { name: 'maxAttempts negative', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: -1 }), status: 400, code: 'invalid_request', message: "maxAttempts must be an integer from 1 to 1000" },
  { name: 'maxAttempts too many', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: 100_000 }), status: 400, code: 'invalid_request', message: "maxAttempts must be an integer from 1 to 1000" },
  { name: 'maxAttempts boolean', method: 'POST', path: '/v1/jobs', body: job({ maxAttempts: true }), status: 400, code: 'invalid_request', message: "maxAttempts must be an integer from 1 to 1000" },
  { name: 'timeoutMs zero', method: 'POST', path: '/v1/jobs', body: job({ timeoutMs: 0 }), status: 400, code: 'invalid_request', message: "timeoutMs must be null or an integer from 1 to 315360000000" },
  { name: 'timeoutMs string', method: 'POST', path: '/v1/jobs', body: job({ timeoutMs: '100' }), status: 400, code: 'invalid_request', message: "timeoutMs must be null or an integer from 1 to 315360000000" },
  { name: 'delayMs negative', method: 'POST', path: '/v1/jobs', body: job({ delayMs: -1 }), status: 400, code: 'invalid_request', message: "delayMs must be an integer from 0 to 315360000000" },
  { name: 'delayMs beyond ten years', method: 'POST', path: '/v1/jobs', body: job({ delayMs: 1e15 }), status: 400, code: 'invalid_request', message: "delayMs must be an integer from 0 to 315360000000" },
  { name: 'runAt not a date', method: 'POST', path: '/v1/jobs', body: job({ runAt: 'tomorrow' }), status: 400, code: 'invalid_request', message: "runAt must be an ISO 8601 date-time or epoch milliseconds from 0 to 253402300799999" },
  { name: 'runAt negative epoch', method: 'POST', path: '/v1/jobs', body: job({ runAt: -5 }), status: 400, code: 'invalid_request', message: "runAt must be an ISO 8601 date-time or epoch milliseconds from 0 to 253402300799999" },
  { name: 'runAt and delayMs together', method: 'POST', path: '/v1/jobs', body: job({ runAt: 0, delayMs: 5 }), status: 400, code: 'invalid_request', message: "runAt and delayMs are mutually exclusive" },
  { name: 'runAt as object', method: 'POST', path: '/v1/jobs', body: job({ runAt: {} }), status: 400, code: 'invalid_request', message: "runAt must be an ISO 8601 date-time or epoch milliseconds from 0 to 253402300799999" },
  { name: 'unknown field', method: 'POST', path: '/v1/jobs', body: job({ maxAttempt: 3 }), status: 400, code: 'invalid_request', message: "unknown field \"maxAttempt\"" },
  { name: 'body is a number', method: 'POST', path: '/v1/jobs', body: 42, status: 400, code: 'invalid_request', message: "body must be a JSON object (one job) or a JSON array of jobs" },
  { name: 'body is a string', method: 'POST', path: '/v1/jobs', body: '"echo"', status: 400, code: 'invalid_request', message: "body must be a JSON object (one job) or a JSON array of jobs" },
  { name: 'body is null', method: 'POST', path: '/v1/jobs', body: 'null', status: 400, code: 'invalid_request', message: "body must be a JSON object (one job) or a JSON array of jobs" },
  { name: 'no body on /v1/jobs', method: 'POST', path: '/v1/jobs', status: 400, code: 'invalid_request', message: "body must be a JSON object (one job) or a JSON array of jobs" },
  { name: 'empty array', method: 'POST', path: '/v1/jobs', body: [], status: 400, code: 'invalid_request', message: "a batch must hold at least one job" },
  { name: 'array with a bad item', method: 'POST', path: '/v1/jobs', body: [job({}), job({ priority: 'high' })], status: 400, code: 'invalid_request', message: "jobs[1].priority must be an integer from -1000000 to 1000000" },
  { name: 'array of numbers', method: 'POST', path: '/v1/jobs', body: [1, 2], status: 400, code: 'invalid_request', message: "jobs[0] must be a JSON object (a job)" },
  { name: 'nested arrays', method: 'POST', path: '/v1/jobs', body: [[job({})]], status: 400, code: 'invalid_request', message: "jobs[0] must be a JSON object (a job)" },
  { name: 'seed enqueue with bad type', method: 'POST', path: '/enqueue', body: { type: 7 }, status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'seed enqueue with a number body', method: 'POST', path: '/enqueue', body: '12', status: 400, code: 'invalid_request', message: "body must be a JSON object" },
  // Limits
  { name: 'payload over 1 MiB', method: 'POST', path: '/v1/jobs', body: job({ payload: big }), status: 413, code: 'payload_too_large' },
  { name: 'payload over 1 MiB in a batch item', method: 'POST', path: '/v1/jobs', body: [job({}), job({ payload: big })], status: 413, code: 'payload_too_large' },
  { name: 'batch over 1,000', method: 'POST', path: '/v1/jobs', body: Array.from({ length: 1001 }, () => job({})), status: 413, code: 'batch_too_large' },
  { name: 'body over the request limit', method: 'POST', path: '/v1/jobs', body: job({ payload: 'y'.repeat(3_000_000) }), status: 413, code: 'payload_too_large' },
  // Ids and routes
  { name: 'id not a uuid', method: 'GET', path: '/v1/jobs/123', status: 400, code: 'invalid_request', message: "id must be a job id (a UUID)" },
  { name: 'id with traversal', method: 'GET', path: '/v1/jobs/..%2F..%2Fetc%2Fpasswd', status: 400, code: 'invalid_request', message: "id must be a job id (a UUID)" },
  { name: 'seed status of a malformed id', method: 'GET', path: "/status/1'%20OR%20'1'='1", status: 404, code: 'not_found', message: 'job not found' },
  { name: 'limit in exponent notation', method: 'GET', path: '/v1/jobs?limit=1e2', status: 400, code: 'invalid_request', message: 'limit must be an integer from 1 to 500' },
  { name: 'limit in hex', method: 'GET', path: '/v1/jobs?limit=0x10', status: 400, code: 'invalid_request', message: 'limit must be an integer from 1 to 500' },
  { name: 'batch item with runAt and delayMs', method: 'POST', path: '/v1/jobs', body: [job({}), job({ runAt: 0, delayMs: 1 })], status: 400, code: 'invalid_request', message: 'runAt and delayMs are mutually exclusive (in jobs[1])' },
  { name: 'batch item with an unknown field', method: 'POST', path: '/v1/jobs', body: [job({ data: 1 })], status: 400, code: 'invalid_request', message: 'unknown field "data" (in jobs[0])' },
  { name: 'prune with an unknown field', method: 'POST', path: '/v1/jobs/prune', body: { olderThan: 5 }, status: 400, code: 'invalid_request', message: 'unknown field "olderThan"' },
  { name: 'prune with a retention of zero', method: 'POST', path: '/v1/jobs/prune', body: { retention: { completed: 0 } }, status: 400, code: 'invalid_request', message: 'retention.completed must be null (forever) or milliseconds from 1 to 315360000000' },
  { name: 'unknown field data', method: 'POST', path: '/v1/jobs', body: job({ data: { to: 'x' } }), status: 400, code: 'invalid_request', message: 'unknown field "data"' },
  { name: 'queue limit not a number', method: 'GET', path: '/v1/queues?limit=all', status: 400, code: 'invalid_request', message: 'limit must be an integer from 1 to 500' },
  { name: 'json body without a content type', method: 'POST', path: '/v1/jobs', body: '{"type":"echo"}', headers: { 'content-type': '' }, status: 415, code: 'unsupported_media_type', message: /^content-type must be application\/json/ },
  { name: 'unknown uuid', method: 'GET', path: `/v1/jobs/${randomUUID()}`, status: 404, code: 'not_found' },
  { name: 'cancel unknown uuid', method: 'POST', path: `/v1/jobs/${randomUUID()}/cancel`, status: 404, code: 'not_found' },
  { name: 'retry unknown uuid', method: 'POST', path: `/v1/jobs/${randomUUID()}/retry`, status: 404, code: 'not_found' },
  { name: 'cancel with a bad id', method: 'POST', path: '/v1/jobs/nope/cancel', status: 400, code: 'invalid_request', message: "id must be a job id (a UUID)" },
  { name: 'unknown route', method: 'GET', path: '/v2/jobs', status: 404, code: 'route_not_found' },
  { name: 'wrong method', method: 'DELETE', path: '/v1/jobs', status: 405, code: 'method_not_allowed' },
  { name: 'PUT on enqueue', method: 'PUT', path: '/enqueue', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on a job', method: 'DELETE', path: `/v1/jobs/${randomUUID()}`, status: 405, code: 'method_not_allowed' },
  { name: 'pause a bad queue name', method: 'POST', path: '/v1/queues/bad%20name/pause', status: 400, code: 'invalid_request', message: "name must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  // Query strings
  { name: 'limit zero', method: 'GET', path: '/v1/jobs?limit=0', status: 400, code: 'invalid_request', message: "limit must be an integer from 1 to 500" },
  { name: 'limit too large', method: 'GET', path: '/v1/jobs?limit=5000', status: 400, code: 'invalid_request', message: "limit must be an integer from 1 to 500" },
  { name: 'limit not a number', method: 'GET', path: '/v1/jobs?limit=ten', status: 400, code: 'invalid_request', message: "limit must be an integer from 1 to 500" },
  { name: 'limit negative', method: 'GET', path: '/v1/jobs?limit=-1', status: 400, code: 'invalid_request', message: "limit must be an integer from 1 to 500" },
  { name: 'unknown status', method: 'GET', path: '/v1/jobs?status=done', status: 400, code: 'invalid_request', message: /^status must be one of (waiting, )?scheduled, pending, processing, completed, failed, cancelled$/ },
  { name: 'bad queue filter', method: 'GET', path: '/v1/jobs?queue=a%20b', status: 400, code: 'invalid_request', message: "queue must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'forged cursor', method: 'GET', path: '/v1/jobs?cursor=AAAA', status: 400, code: 'invalid_request', message: "cursor is not one this server issued for this filter" },
  { name: 'unknown query parameter', method: 'GET', path: '/v1/jobs?sort=desc', status: 400, code: 'invalid_request', message: "unknown query parameter \"sort\"" },
  { name: 'bad type filter', method: 'GET', path: '/v1/jobs?type=a%2Fb', status: 400, code: 'invalid_request', message: "type must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\", starting with a letter or a digit" },
  { name: 'key filter too long', method: 'GET', path: `/v1/jobs?key=${'k'.repeat(256)}`, status: 400, code: 'invalid_request', message: 'key must be a string of 1 to 255 characters' },
  { name: 'createdAfter not a date-time', method: 'GET', path: '/v1/jobs?createdAfter=yesterday', status: 400, code: 'invalid_request', message: 'createdAfter must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z' },
  { name: 'createdBefore in epoch ms', method: 'GET', path: '/v1/jobs?createdBefore=1893456000000', status: 400, code: 'invalid_request', message: 'createdBefore must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z' },
  { name: 'createdBefore not after createdAfter', method: 'GET', path: '/v1/jobs?createdAfter=2030-01-02T00:00:00Z&createdBefore=2030-01-01T00:00:00Z', status: 400, code: 'invalid_request', message: 'createdBefore must be later than createdAfter' },
];

/** The statuses the OpenAPI document lists for the operation a request reaches, or null if it reaches none. */
function documented(doc: { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }, method: string, path: string): string[] | null {
  const bare = path.split('?')[0]!;
  for (const [template, ops] of Object.entries(doc.paths)) {
    if (!new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(bare)) continue;
    const op = ops[method.toLowerCase()];
    if (op) return Object.keys(op.responses);
  }
  return null;
}

describe('malformed requests', () => {
  let s: TestServer;
  let doc: Parameters<typeof documented>[0];
  before(async () => {
    s = await startTestServer({ workers: false, http: { bodyLimitBytes: 2 * 1024 * 1024 } });
    doc = (await http(s.url, 'GET', '/openapi.json')).body;
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
      if (typeof c.message === 'string') assert.equal(res.body.error.message, c.message);
      else if (c.message) assert.match(res.body.error.message, c.message);
      // The answer is one the OpenAPI document lists for the operation (item 11).
      const statuses = documented(doc, c.method, c.path);
      if (statuses) assert.ok(statuses.includes(String(c.status)), `${c.method} ${c.path}: ${c.status} is documented (${statuses.join(', ')})`);
      // Never Ajv's own wording.
      assert.doesNotMatch(res.body.error.message, /must NOT|must match pattern|must be equal to one of|additional properties|^body\/|^querystring|^params\//);
    });
  }

  it('every validation answer (400 invalid_request) in the table has its message asserted', () => {
    const unasserted = CASES.filter((c) => c.code === 'invalid_request' && c.message === undefined);
    assert.deepEqual(unasserted.map((c) => c.name), []);
  });

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
