/**
 * One LISTEN connection per node, for every channel it needs (wake-ups, and
 * the event feed while someone subscribes). It reconnects with backoff when
 * the connection drops (server restart, pg_terminate_backend), listens again
 * on every channel, and calls `onReconnect` since notifications sent while it
 * was away are lost.
 */
import type pg from 'pg';
import { Client } from './driver.js';

export class Listener {
  private client: pg.Client | null = null;
  private connected = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private readonly channels = new Map<string, (payload: string | undefined) => void>();

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onReconnect: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Listens on `channel` (now, and again after every reconnect). */
  add(channel: string, onNotify: (payload: string | undefined) => void): void {
    this.channels.set(channel, onNotify);
    if (this.client && this.connected) void this.client.query(`LISTEN "${channel}"`).catch(() => {});
    else if (!this.client && !this.retryTimer) void this.connect();
  }

  remove(channel: string): void {
    if (!this.channels.delete(channel)) return;
    if (this.client && this.connected) void this.client.query(`UNLISTEN "${channel}"`).catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client(this.config);
    this.client = client;
    this.connected = false;
    client.on('notification', (msg) => this.channels.get(msg.channel)?.(msg.payload));
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      this.connected = false;
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      if (!this.stopped) {
        if (err) this.onError(err);
        this.scheduleReconnect();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN "${channel}"`);
      this.connected = true;
      this.failures = 0;
      this.onReconnect(); // anything sent while we were not listening
    } catch (err) {
      lost(err);
    }
  }

  private scheduleReconnect(): void {
    this.failures++;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => {});
  }
}
