/** The client's transport (node:http): what counts as a network failure, and answers that are not jobq's. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { JobqError } from '../../src/contracts/errors.js';
import { isNetworkError, isUnreachable, Transport } from '../../src/client/transport.js';

test('network failures are told from programming errors', () => {
  const sys = (code: string) => Object.assign(new Error(code), { code });
  for (const err of [sys('ECONNREFUSED'), sys('ECONNRESET'), sys('HPE_INVALID_CONSTANT'), new DOMException('gone', 'AbortError'), new DOMException('late', 'TimeoutError'), new TypeError('fetch failed')]) {
    assert.equal(isNetworkError(err), true, `${String(err)} is a network failure`);
  }
  for (const err of [sys('ERR_INVALID_ARG_TYPE'), new TypeError('x.jobs is not iterable'), new JobqError('internal', 'boom'), null, 'text']) {
    assert.equal(isNetworkError(err), false, `${String(err)} is not a network failure`);
  }
  assert.equal(isUnreachable(new JobqError('store_unavailable', 'down')), true);
  assert.equal(isUnreachable(new JobqError('invalid_request', 'bad', { details: { status: 400 } })), false);
});

test('a refused connection is unreachable; a 2xx that is not JSON is an error, never undefined', async () => {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/html' ? 200 : 204, { 'content-type': 'text/html' });
    res.end(req.url === '/html' ? '<html>proxy</html>' : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const t = new Transport({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
    await assert.rejects(t.request('GET', '/html'), (err: unknown) => err instanceof JobqError && err.code === 'internal' && err.details?.status === 200);
    assert.equal(await t.request('GET', '/empty'), undefined, 'an empty answer is no body');
  } finally {
    await new Promise((r) => server.close(r));
  }
  const gone = new Transport({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
  await assert.rejects(gone.request('GET', '/x'), (err: unknown) => isUnreachable(err) && (err as { code?: string }).code === 'ECONNREFUSED');
});
