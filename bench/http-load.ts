/**
 * A lean closed-loop HTTP load generator: `connections` keep-alive sockets,
 * each sending its next request as soon as the previous answer arrived.
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  requests: number;
  ok: number;
  errors: number;
  elapsedMs: number;
  latenciesMs: number[];
  bodies: string[];
}

export async function closedLoop(opts: {
  url: string;
  path: string;
  body: (i: number) => string;
  total: number;
  connections: number;
  keepBodies?: boolean;
}): Promise<LoadResult> {
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  const bodies: string[] = [];
  let next = 0;
  let ok = 0;
  let errors = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const payload = opts.body(i);
      const t0 = performance.now();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: opts.path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            if (res.statusCode && res.statusCode < 300) ok++;
            else errors++;
            if (opts.keepBodies) bodies.push(Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(payload);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (next < opts.total) await one(next++);
    }),
  );
  const elapsedMs = performance.now() - start;
  agent.destroy();
  return { requests: opts.total, ok, errors, elapsedMs, latenciesMs: latencies, bodies };
}
