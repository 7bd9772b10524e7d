/**
 * A corpus of 200+ hostile requests, sent over real sockets: every one gets a
 * documented 4xx (never a 5xx), nothing is stored, the server stays healthy,
 * and payloads that are accepted come back exactly as sent.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/contracts/errors.js';
import { MAX_PAYLOAD_DEPTH } from '../../src/core/json-shape.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

interface Raw {
  name: string;
  method?: string;
  path?: string;
  /** Body bytes as sent. */
  body?: Buffer | string;
  contentType?: string | null;
  extraHeaders?: string[];
  /** Expected status; code is checked when the answer is JSON. */
  status: number;
  code?: string;
}

const nest = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const valid = '{"type":"email.send","queue":"mail","priority":3,"maxAttempts":2,"payload":{"to":"a@b.c","n":[1,2,3],"deep":{"x":null}}}';

function corpus(): Raw[] {
  const c: Raw[] = [];
  // Every truncation of a valid body.
  for (let i = 1; i < valid.length; i++) c.push({ name: `truncated at ${i}`, body: valid.slice(0, i), status: 400, code: 'invalid_json' });
  // Deep nesting.
  for (const d of [MAX_PAYLOAD_DEPTH + 1, 100, 1000, 10_000, 100_000]) {
    c.push({ name: `payload nested ${d} deep`, body: `{"type":"t","payload":${nest(d)}}`, status: 400, code: 'invalid_request' });
  }
  c.push({ name: 'object nested 200 deep', body: `{"type":"t","payload":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`, status: 400, code: 'invalid_request' });
  // Numbers JSON cannot carry, and numbers out of range.
  for (const n of ['1e400', '-1e400', '1e309']) c.push({ name: `payload ${n}`, body: `{"type":"t","payload":{"n":${n}}}`, status: 400, code: 'invalid_request' });
  for (const [field, n] of [['priority', '1e400'], ['priority', '9007199254740993'], ['maxAttempts', '-0.5'], ['timeoutMs', '1e20'], ['delayMs', '-1e400'], ['runAt', '1e30']] as const) {
    c.push({ name: `${field} = ${n}`, body: `{"type":"t","${field}":${n}}`, status: 400, code: 'invalid_request' });
  }
  // Prototype pollution.
  for (const b of [
    '{"type":"t","__proto__":{"polluted":1}}',
    '{"type":"t","payload":{"__proto__":{"polluted":1}}}',
    '{"type":"t","payload":[{"__proto__":{"x":1}}]}',
    '[{"type":"t","payload":{"a":{"__proto__":{}}}}]',
    '{"type":"t","payload":{"constructor":{"prototype":{"polluted":1}}}}',
    '{"type":"t","constructor":{"prototype":{"polluted":1}}}',
  ]) c.push({ name: `prototype keys: ${b.slice(0, 50)}`, body: b, status: 400, code: 'invalid_json' });
  // Invalid UTF-8.
  for (const [label, bytes] of [
    ['lone 0xff', [0xff]],
    ['0xc3 0x28', [0xc3, 0x28]],
    ['truncated 3-byte', [0xe2, 0x82]],
    ['overlong slash', [0xc0, 0xaf]],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['0xfe 0xfe', [0xfe, 0xfe]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ] as const) {
    const body = Buffer.concat([Buffer.from('{"type":"t","payload":"'), Buffer.from(bytes as readonly number[]), Buffer.from('"}')]);
    c.push({ name: `invalid UTF-8: ${label}`, body, status: 400, code: 'invalid_json' });
  }
  // Content types.
  for (const ct of ['text/plain', 'text/html', 'application/xml', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'image/png', 'json']) {
    c.push({ name: `content type ${ct}`, body: valid, contentType: ct, status: 415, code: 'unsupported_media_type' });
  }
  c.push({ name: 'body with no content type', body: valid, contentType: null, status: 415, code: 'unsupported_media_type' });
  // Sizes.
  c.push({ name: '10 MB payload', body: `{"type":"t","payload":"${'x'.repeat(10 * 1024 * 1024)}"}`, status: 413, code: 'payload_too_large' });
  c.push({ name: '20 MB body', body: `{"type":"t","payload":"${'x'.repeat(20 * 1024 * 1024)}"}`, status: 413, code: 'payload_too_large' });
  c.push({ name: '1,001 jobs', body: JSON.stringify(Array.from({ length: 1001 }, () => ({ type: 't' }))), status: 413, code: 'batch_too_large' });
  // Names and client-chosen ids.
  for (const q of ["x'; DROP TABLE jobs;--", '../../etc/passwd', 'a\u0000b', ' ', 'q\nq', '%00', '<script>', 'a'.repeat(129), '', '-leading']) {
    c.push({ name: `queue ${JSON.stringify(q).slice(0, 30)}`, body: JSON.stringify({ type: 't', queue: q }), status: 400, code: 'invalid_request' });
    c.push({ name: `type ${JSON.stringify(q).slice(0, 30)}`, body: JSON.stringify({ type: q }), status: 400, code: 'invalid_request' });
  }
  c.push({ name: 'duplicate client ids in a batch', body: '[{"type":"t","id":"x"},{"type":"t","id":"x"}]', status: 400, code: 'invalid_request' });
  c.push({ name: 'client id on one job', body: '{"type":"t","id":"01a22115-b76b-767f-b9db-b49eea24ab6c"}', status: 400, code: 'invalid_request' });
  c.push({ name: 'status set by the client', body: '{"type":"t","status":"completed"}', status: 400, code: 'invalid_request' });
  // Ids in paths.
  for (const id of ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', "1'%20OR%201=1--", '00000000-0000-0000-0000-00000000000g', '00000000-0000-0000-0000-0000000000000', '%00', 'null', '-1', '1e3', '%20', 'a'.repeat(90)]) {
    c.push({ name: `GET job ${id.slice(0, 30)}`, method: 'GET', path: `/v1/jobs/${id}`, status: 400, code: 'invalid_request' });
    c.push({ name: `cancel job ${id.slice(0, 30)}`, method: 'POST', path: `/v1/jobs/${id}/cancel`, status: 400, code: 'invalid_request' });
  }
  for (const p of ['/v1/jobs/../../etc/passwd', '/..%2f..%2fetc/passwd', '/v1/%2e%2e/queues', '/v1/jobs/a/b/c', '/admin', '/v1/jobs/00000000-0000-0000-0000-000000000000/delete']) {
    c.push({ name: `path ${p}`, method: 'GET', path: p, status: 404, code: 'route_not_found' });
  }
  // Methods.
  c.push({ name: 'queue name of 3,000 characters in the path', method: 'POST', path: `/v1/queues/${'a'.repeat(3000)}/pause`, status: 400, code: 'invalid_request' });
  c.push({ name: 'malformed percent-encoding in the path', method: 'GET', path: '/v1/jobs/%E0%A4%A', status: 400, code: 'invalid_request' });
  for (const m of ['PUT', 'PATCH', 'DELETE']) c.push({ name: `${m} /v1/jobs`, method: m, path: '/v1/jobs', body: valid, status: 405, code: 'method_not_allowed' });
  // Headers.
  c.push({ name: 'header flood (3,000 headers)', method: 'GET', path: '/healthz', extraHeaders: Array.from({ length: 3000 }, (_, i) => `x-h${i}: y`), status: 431 });
  c.push({ name: 'one 20 KB header', method: 'GET', path: '/healthz', extraHeaders: [`x-big: ${'a'.repeat(20_000)}`], status: 431 });
  c.push({ name: 'URL of 20 KB', method: 'GET', path: `/v1/jobs?cursor=${'a'.repeat(20_000)}`, status: 431 });
  c.push({ name: 'bad Content-Length', extraHeaders: ['content-length: abc'], body: '', status: 400 });
  c.push({ name: 'two Content-Lengths', extraHeaders: ['content-length: 5', 'content-length: 6'], body: '', status: 400 });
  // Query strings.
  for (const q of ['limit=-1', 'limit=0', 'limit=99999', 'limit=1e2', 'limit=', 'status=DONE', 'queue=%00', 'cursor=%ff', 'cursor=' + Buffer.from('s:-1').toString('base64url'), 'x=1', 'key=%00', 'type=%00', 'createdAfter=%ff', 'createdAfter=+275760-09-13T00:00:00.001Z', 'createdBefore=2030-01-01T00:00:00Z%00']) {
    c.push({ name: `list ?${q}`, method: 'GET', path: `/v1/jobs?${q}`, status: 400, code: 'invalid_request' });
  }
  return c;
}

/** Sends exactly these bytes and reads the status line and body. */
function send(port: number, r: Raw): Promise<{ status: number; body: string }> {
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  const headers = [`${r.method ?? 'POST'} ${r.path ?? '/v1/jobs'} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  const explicitLength = (r.extraHeaders ?? []).some((h) => h.toLowerCase().startsWith('content-length'));
  if (r.contentType !== null && (r.body !== undefined || r.contentType)) headers.push(`Content-Type: ${r.contentType ?? 'application/json'}`);
  if (!explicitLength && r.body !== undefined) headers.push(`Content-Length: ${body.length}`);
  headers.push(...(r.extraHeaders ?? []));
  const head = Buffer.from(`${headers.join('\r\n')}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    // No half-close: like a real client, keep the socket open until the server answers and closes it.
    sock.on('connect', () => sock.write(Buffer.concat([head, body])));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (err) => (chunks.length ? undefined : reject(err)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer: ${text.slice(0, 100)}`));
      resolve({ status: Number(m[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    sock.setTimeout(15_000, () => sock.destroy(new Error('timed out')));
  });
}

describe('hostile input', () => {
  let s: TestServer;
  let port: number;
  const cases = corpus();
  before(async () => {
    s = await startTestServer({ workers: false });
    port = Number(new URL(s.url).port);
  });
  after(async () => s.close());

  it(`the corpus has at least 200 requests (${cases.length})`, () => assert.ok(cases.length >= 200));

  it('every hostile request gets its documented 4xx, never a 5xx', async () => {
    const wrong: string[] = [];
    for (const r of cases) {
      const res = await send(port, r);
      let code: string | undefined;
      try {
        code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      if (res.status !== r.status || (r.code !== undefined && code !== r.code)) wrong.push(`${r.name}: got ${res.status} ${code ?? res.body.slice(0, 80)}, expected ${r.status} ${r.code ?? ''}`);
      if (code !== undefined && !(ERROR_CODES as readonly string[]).includes(code)) wrong.push(`${r.name}: undocumented code ${code}`);
      if (/\n\s+at /.test(res.body)) wrong.push(`${r.name}: stack trace in the answer`);
    }
    assert.deepEqual(wrong, []);
  });

  it('stored nothing, and is healthy afterwards', async () => {
    assert.equal((await s.jobq.list({ limit: 10 })).jobs.length, 0);
    assert.equal((await send(port, { name: 'health', method: 'GET', path: '/healthz', status: 200 })).status, 200);
  });

  it('keeps accepted payloads exactly as sent', async () => {
    const payloads: unknown[] = [
      "x'; DROP TABLE jobs;--",
      '../../etc/passwd',
      'null\u0000byte',
      '日本語 🎉 \u2028\u2029 "quotes" \\back\\slash',
      { a: 1, b: [1.5, -0, 9007199254740991, -9007199254740991, 1e308, 5e-324], c: { d: null, e: true, f: '' } },
      JSON.parse(`{"order":${JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${20 - i}`, i])))}}`),
      JSON.parse(nest(MAX_PAYLOAD_DEPTH)),
      'x'.repeat(1024 * 1024 - 2),
    ];
    for (const payload of payloads) {
      const res = await send(port, { name: 'ok', body: JSON.stringify({ type: 't', payload }), status: 201 });
      assert.equal(res.status, 201, res.body.slice(0, 200));
      const id = (JSON.parse(res.body) as { id: string }).id;
      const stored = await s.jobq.get(id);
      assert.equal(JSON.stringify(stored?.payload), JSON.stringify(payload), 'same value, same key order');
    }
  });
});
