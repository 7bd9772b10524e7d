/**
 * Issue #9, item 8: the seed's routes answer exactly as the seed did, to the
 * exact bytes its users' clients send (raw sockets, no client library in
 * between): POST /enqueue is 200 with id, payload, status and createdAt, and
 * takes an empty body whatever its Content-Type; GET /status/{id} is 200, or
 * 404 "job not found" for any id that does not exist, malformed ones included.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Sends `request` as is and reads one answer (by its Content-Length). */
function raw(port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(request));
    let data = Buffer.alloc(0);
    const finish = () => {
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? -1);
      const body = data.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (length < 0 || body.length < length) return false;
      sock.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body.subarray(0, length).toString('utf8')) });
      return true;
    };
    sock.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      finish();
    });
    sock.on('error', reject);
    sock.on('end', () => finish() || reject(new Error(`connection closed before a whole answer:\n${data.toString()}`)));
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer in 10 s')));
  });
}

/** POST /enqueue as each client sends it with no body; `Host` is filled in. */
const ENQUEUE_REQUESTS: Record<string, string> = {
  'Go http.Post(url, "", nil)': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\nContent-Type: \r\nAccept-Encoding: gzip\r\n\r\n',
  'Go http.Post without the header': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\nAccept-Encoding: gzip\r\n\r\n',
  "curl -d ''": 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Length: 0\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n',
  'curl -X POST': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
  "Python urllib, data=b''":
    'POST /enqueue HTTP/1.1\r\nAccept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nHost: {host}\r\nUser-Agent: Python-urllib/3.11\r\nConnection: close\r\n\r\n',
  'hey -m POST': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hey/0.0.1\r\nContent-Length: 0\r\nContent-Type: text/html\r\nAccept-Encoding: gzip\r\n\r\n',
  'chunked, empty, text/plain': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'fetch, JSON, empty': 'POST /enqueue HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n',
};

const statusRequest = (id: string) => `GET /status/${id} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n`;

describe("the seed's workflow, with its clients' exact requests", () => {
  let s: TestServer;
  let port: number;
  let host: string;
  const send = (request: string) => raw(port, request.replace('{host}', host));
  before(async () => {
    s = await startTestServer({ jobq: { queues: { default: { concurrency: 20 } } } });
    host = new URL(s.url).host;
    port = Number(new URL(s.url).port);
  });
  after(async () => s.close());

  it('POST /enqueue with no body: 200 and the seed\'s fields, from every client; GET /status follows each job to completed', async () => {
    const ids: string[] = [];
    for (const [client, request] of Object.entries(ENQUEUE_REQUESTS)) {
      const res = await send(request);
      assert.equal(res.status, 200, `${client}: ${JSON.stringify(res.body)}`);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      for (const field of ['id', 'payload', 'status', 'createdAt']) assert.ok(field in res.body, `${client}: field ${field}`);
      assert.equal(res.body.status, 'pending', client);
      assert.equal(res.body.type, 'demo', `${client}: the demo job`);
      assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)), client);
      ids.push(res.body.id as string);
    }
    for (const id of ids) {
      const first = await send(statusRequest(id));
      assert.equal(first.status, 200);
      assert.equal(first.body.id, id);
      assert.ok(['pending', 'processing', 'completed'].includes(first.body.status), first.body.status);
    }
    await waitFor(async () => (await Promise.all(ids.map((id) => send(statusRequest(id))))).every((r) => r.status === 200 && r.body.status === 'completed'), {
      what: 'every demo job completed',
      timeoutMs: 15_000,
    });
  });

  it('POST /enqueue with a JSON body still enqueues what it says, with 200', async () => {
    const body = JSON.stringify({ payload: { ms: 5 } });
    const res = await send(`POST /enqueue HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.payload, { ms: 5 });
  });

  it('a non-empty body that is not JSON is still refused: 415 naming the content type', async () => {
    const res = await send('POST /enqueue HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nx=1');
    assert.equal(res.status, 415);
    assert.deepEqual(res.body, { error: { code: 'unsupported_media_type', message: 'content-type must be application/json; got "application/x-www-form-urlencoded"' } });
  });

  it('GET /status/{id} of an id that does not exist is 404 "job not found", malformed ids included', async () => {
    for (const id of [randomUUID(), 'abc', '123', "1'%20OR%20'1'='1", 'not-a-uuid-at-all', '%00', 'x'.repeat(1500), '01936f2e-0000-7000-8000-00000000000Z']) {
      const res = await send(statusRequest(id));
      assert.equal(res.status, 404, id.slice(0, 40));
      assert.deepEqual(res.body, { error: { code: 'not_found', message: 'job not found' } }, id.slice(0, 40));
    }
  });

  it('/v1/jobs keeps 201', async () => {
    const body = JSON.stringify({ type: 'demo', payload: { ms: 1 } });
    const res = await send(`POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(res.status, 201);
    const empty = await send("POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n");
    assert.equal(empty.status, 415, 'an empty body of any type is for the seed route only');
  });
});
