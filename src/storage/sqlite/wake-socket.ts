/**
 * Wake-ups across processes on one SQLite file by a datagram on loopback,
 * so a worker in another process starts a job as soon as its enqueue has
 * committed instead of at its next look at `PRAGMA data_version` (which
 * stays as the fallback: a datagram may be lost, a process may not have
 * registered yet).
 *
 * A process that watches for work binds a UDP socket on 127.0.0.1 and keeps
 * its port in the `wake_listeners` table (refreshed every 3 s, expiring after
 * 10 s, so a killed process's row goes by itself). A process that committed
 * jobs others may claim sends each listed port one datagram naming their
 * queues (newline-separated; empty means "any queue"). Unix datagram sockets
 * would do too, but Node's dgram has only UDP.
 *
 * Cost on the enqueue path: one cached read of the listener list per second,
 * then one sendto per listener per committed batch (not per job).
 */
import { createSocket, type Socket } from 'node:dgram';
import * as SQL from './cluster-sql.js';
import type { SqliteConn } from './conn.js';

const LISTENER_TTL_MS = 10_000;
const LISTENER_REFRESH_MS = 3_000;
/** How long the list of other listeners is trusted: a worker started since is found within this long (the poll covers it meanwhile). */
const LIST_REFRESH_MS = 1_000;
/** Queue names in one datagram at most (bytes); a larger batch wakes every queue. */
const MAX_DATAGRAM_BYTES = 1_200;

export class WakeSocket {
  /** Bound to 127.0.0.1 once listen() was called; also sends then. */
  private rx: Socket | null = null;
  /** Sends only, for a process that never listens (a producer). */
  private tx: Socket | null = null;
  private port = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private others: number[] = [];
  private othersAt = -Infinity;
  private closed = false;

  constructor(private readonly c: SqliteConn) {}

  /** Binds the listening socket and registers its port; `onWake` gets the queues named (undefined: any). */
  listen(onWake: (queues?: readonly string[]) => void): void {
    if (this.closed || this.rx) return;
    const socket = (this.rx = newSocket());
    socket.on('message', (msg) => onWake(msg.length === 0 ? undefined : msg.toString('utf8').split('\n')));
    socket.bind(0, '127.0.0.1', () => {
      if (this.closed) return;
      this.port = socket.address().port;
      this.register();
      this.refreshTimer = setInterval(() => this.register(), LISTENER_REFRESH_MS);
      this.refreshTimer.unref();
    });
  }

  /** Tells the other listening processes that jobs of these queues may be claimed now. */
  notify(queues: readonly string[]): void {
    if (this.closed) return;
    const ports = this.listeners();
    if (ports.length === 0) return;
    let text = queues.length === 1 ? queues[0]! : [...new Set(queues)].join('\n');
    if (Buffer.byteLength(text) > MAX_DATAGRAM_BYTES) text = '';
    const socket = this.port !== 0 ? this.rx! : (this.tx ??= newSocket());
    for (const port of ports) socket.send(text, port, '127.0.0.1');
  }

  private listeners(): number[] {
    const now = Date.now();
    if (now - this.othersAt < LIST_REFRESH_MS) return this.others;
    this.othersAt = now;
    try {
      this.others = this.c.read(() => this.c.stmt(SQL.WAKE_LISTENERS).pluck().all({ port: this.port, now }) as number[]);
    } catch {
      this.others = []; // the store's health monitor reports database failures; the poll still wakes
    }
    return this.others;
  }

  private register(): void {
    if (this.closed || this.c.closed || this.port === 0) return;
    try {
      this.c.write(() => this.c.stmt(SQL.WAKE_LISTENER_UPSERT).run({ port: this.port, expiresAt: Date.now() + LISTENER_TTL_MS }));
    } catch {
      // Retried at the next refresh; until then the poll wakes this process.
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.port !== 0 && !this.c.closed) {
      try {
        this.c.write(() => this.c.stmt(SQL.WAKE_LISTENER_REMOVE).run({ port: this.port }));
      } catch {
        // The row expires on its own.
      }
    }
    this.rx?.close();
    this.tx?.close();
    this.rx = this.tx = null;
  }
}

/**
 * Every address here is 127.0.0.1. dgram resolves even an IP literal through
 * dns.lookup, which answers on the next tick: the datagram of a durable
 * commit then left only after its fsync, which runs synchronously right after
 * notify(). Answered in place, the datagram is sent inside notify(), and the
 * worker claims while the producer's fsync runs: enqueue -> handler start
 * across two processes at 100 jobs/s, p50 1.02-1.22 -> 0.83-0.90 ms, and the
 * producer's acknowledgement 0.79-1.23 -> 1.01-1.35 ms, the claim's WAL
 * write now landing during its fdatasync (3 alternated runs, 2026-11-30).
 */
const loopbackOnly = (_host: string, _options: unknown, done: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void =>
  done(null, '127.0.0.1', 4);

function newSocket(): Socket {
  const socket = createSocket({ type: 'udp4', lookup: loopbackOnly });
  // A datagram to a port whose process died is dropped by the kernel; nothing here may crash the process.
  socket.on('error', () => {});
  socket.unref();
  return socket;
}
