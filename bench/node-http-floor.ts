/**
 * The floor of any Node HTTP server on this machine, for bench:seed: node:http
 * alone answering `POST /enqueue` as the seed's Go server does (the body
 * checked as JSON, a job with a new id answered as JSON) and storing nothing.
 * argv: port, processes (1 by default; more share the port through Node's
 * cluster module, as `jobq serve --http-processes` does). Prints "listening"
 * once every process listens.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const processes = Number(process.argv[3] ?? 1);

function serve(): void {
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let payload: unknown = null;
      try {
        payload = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid JSON"}');
        return;
      }
      const body = JSON.stringify({ id: randomUUID(), payload, status: 'pending', createdAt: new Date().toISOString() });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  }).listen(port, '127.0.0.1', () => {
    if (processes === 1) process.stdout.write('listening\n');
    else process.send?.('listening');
  });
}

if (processes === 1 || !cluster.isPrimary) serve();
else {
  let up = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++up === processes) process.stdout.write('listening\n');
    });
  }
}
