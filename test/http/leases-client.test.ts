/**
 * Issue #13: the client's waitFor takes the server's event stream when there
 * is one, and falls back to reading the job with backoff when the route is
 * missing (remembered: asked once). Two small loopback servers stand in for
 * jobq so each path is forced.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { JobqClient } from '../../src/client/index.js';
import { waitFor } from '../helpers/wait-for.js';

interface Fake {
  url: string;
  hits: Map<string, number>;
  server: Server;
}

async function fake(handle: (path: string, res: ServerResponse, hits: Map<string, number>) => void): Promise<Fake> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url!.split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handle(path, res, hits);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits, server };
}

const job = (id: string, status: string) => JSON.stringify({ id, queue: 'q', type: 't', status, priority: 0, attempts: 1, maxAttempts: 3, timeoutMs: null, runAt: null, createdAt: null, startedAt: null, finishedAt: null, updatedAt: null, errors: [], progress: null, leaseExpiresAt: null });

describe('client waitFor', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.closeAllConnections(), s.close();
  });

  it('without an event stream (404): reads the job with backoff, and remembers not to ask for the stream again', async () => {
    const f = await fake((path, res, hits) => {
      if (path === '/v1/events') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"route_not_found","message":"no route"}}');
        return;
      }
      const id = path.split('/').pop()!;
      // Finished on the fourth read of each job.
      res.writeHead(200, { 'content-type': 'application/json' }).end(job(id, (hits.get(path) ?? 0) >= 4 ? 'completed' : 'processing'));
    });
    servers.push(f.server);
    const client = new JobqClient({ url: f.url });
    assert.equal((await client.waitFor('a', { timeoutMs: 5000 })).status, 'completed');
    assert.equal((await client.waitFor('b', { timeoutMs: 5000 })).status, 'completed');
    assert.equal(f.hits.get('/v1/events'), 1, 'the missing stream was asked for once');
    assert.equal(f.hits.get('/v1/jobs/a'), 4);
  });

  it('with an event stream: reads the job when its event arrives, not on a timer', async () => {
    let finished = false;
    let stream: ServerResponse | null = null;
    const f = await fake((path, res) => {
      if (path === '/v1/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': hello\n\n');
        stream = res;
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(job('x', finished ? 'completed' : 'processing'));
    });
    servers.push(f.server);
    const client = new JobqClient({ url: f.url });
    const waiting = client.waitFor('x', { timeoutMs: 5000 });
    await waitFor(() => f.hits.get('/v1/jobs/x') === 1, { what: 'the read once the stream is open' });
    // Not synchronisation: the window in which a client polling on a timer would read the job again.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(f.hits.get('/v1/jobs/x'), 1, 'one read once the stream was open, then nothing until an event');
    finished = true;
    const t0 = Date.now();
    stream!.write('id: 1\ndata: {"kind":"completed","jobId":"x","status":"completed"}\n\n');
    assert.equal((await waiting).status, 'completed');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(f.hits.get('/v1/jobs/x'), 2);
  });
});
