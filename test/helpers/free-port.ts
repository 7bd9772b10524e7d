/** TCP ports on 127.0.0.1 that were free a moment ago (for a server that must keep one port across restarts). */
import { createServer, type Server } from 'node:net';

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `n` distinct ports: each is held until all are found, since a port closed at once is free
 * again, and a second look could be handed the same one (a broker once got its client port
 * as its controller port too, and refused to start).
 */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      held.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return held.map((srv) => (srv.address() as { port: number }).port);
  } finally {
    await Promise.all(held.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))));
  }
}
