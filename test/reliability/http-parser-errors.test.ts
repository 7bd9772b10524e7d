/**
 * Issue #7, item 13: errors raised before a route runs (Node's HTTP parser,
 * the request timeout) have the {"error":{"code","message"}} shape too, and a
 * compressed body is refused rather than stored as if it were plain JSON.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { http } from '../helpers/http-server.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { rawRequest } from './support.js';

function assertErrorShape(res: { status: number; headers: Record<string, string>; body: string }, status: number, code: string) {
  assert.equal(res.status, status, `status: ${res.status} ${res.body.slice(0, 200)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, `content-type: ${res.headers['content-type']}`);
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(res.body);
  } catch {
    assert.fail(`body is not JSON: ${JSON.stringify(res.body.slice(0, 200))}`);
  }
  assert.equal(typeof parsed.error, 'object', `{"error":{…}} shape: ${res.body.slice(0, 200)}`);
  assert.equal(parsed.error?.code, code, res.body.slice(0, 200));
  assert.equal(typeof parsed.error?.message, 'string');
}

describe('HTTP parser errors and content encodings (real server process, raw sockets)', () => {
  const dir = tempDir();
  let srv: ServerProcess;
  let port: number;
  before(async () => {
    srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'idle']);
    port = Number(new URL(srv.url).port);
  });
  after(() => {
    srv.child.kill('SIGKILL');
    dir.remove();
  });

  const malformed: [string, string][] = [
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n'],
    ['a header name with a space', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n'],
    ['a malformed request line', 'GET /healthz HTTP/9.Z\r\nHost: x\r\n\r\n'],
    ['garbage instead of a request line', 'HELLO\x01THERE\r\n\r\n'],
    ['a bad Content-Length', 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
  ];
  for (const [name, bytes] of malformed) {
    it(`${name}: 400 with {"error":{"code":"invalid_request",…}} as application/json`, async () => {
      assertErrorShape(await rawRequest(port, bytes), 400, 'invalid_request');
    });
  }

  it('a request that does not arrive whole in time: 408 request_timeout (needs a request-timeout flag)', async (t) => {
    const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' }).stdout;
    const flag = /(--request-timeout[a-z-]*)/.exec(help)?.[1];
    if (!flag) {
      console.log('skipped: `jobq serve` has no request-timeout flag, and Node checks request timeouts only every 30 s (connectionsCheckingInterval), too slow for this suite');
      t.skip('no request-timeout flag');
      return;
    }
    const d = tempDir();
    const s = await spawnServer(['--sqlite-path', d.file('jobs.db'), '--queues', 'idle', flag, '1000']);
    try {
      const p = Number(new URL(s.url).port);
      // Headers announce 100 bytes of body; 2 arrive; then nothing.
      const res = await rawRequest(p, 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"', { timeoutMs: 35_000, keepOpen: true });
      assertErrorShape(res, 408, 'request_timeout');
    } finally {
      s.child.kill('SIGKILL');
      d.remove();
    }
  });

  const json = JSON.stringify({ type: 'noop', queue: 'idle', payload: { encoded: true } });
  const encodings: [string, Buffer][] = [
    ['gzip', gzipSync(json)],
    ['gzip', Buffer.from(json)], // says gzip, is plain: still refused, never stored as plain JSON
    ['br', Buffer.from(json)],
    ['deflate', Buffer.from(json)],
    ['x-custom', Buffer.from(json)],
    ['gzip, identity', Buffer.from(json)],
  ];
  for (const [encoding, body] of encodings) {
    it(`POST /v1/jobs with Content-Encoding: ${encoding}${body.length === json.length ? ' (plain body)' : ''}: 415 unsupported_media_type, nothing stored`, async () => {
      const head = `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: ${encoding}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      const res = await rawRequest(port, Buffer.concat([Buffer.from(head), body]));
      assertErrorShape(res, 415, 'unsupported_media_type');
      const list = await http(srv.url, 'GET', '/v1/jobs?queue=idle&limit=500');
      assert.equal(list.body.jobs.length, 0, 'nothing stored');
    });
  }

  it('Content-Encoding: identity is plain JSON: 201', async () => {
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'other' }, { 'content-encoding': 'identity' });
    assert.equal(res.status, 201, res.text);
  });
});
