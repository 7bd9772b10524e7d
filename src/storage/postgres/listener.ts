/**
 * One LISTEN connection per node. It reconnects with backoff when the
 * connection drops (server restart, pg_terminate_backend), and calls
 * `onChange` after every reconnect too, since notifications sent while it
 * was away are lost.
 */
import pg from 'pg';

export class Listener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onChange: (payload: string | undefined) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel === this.channel) this.onChange(msg.payload);
    });
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
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
      await client.query(`LISTEN "${this.channel}"`);
      this.failures = 0;
      this.onChange(undefined); // anything sent while we were not listening
    } catch (err) {
      lost(err);
    }
  }

  private scheduleReconnect(): void {
    this.failures++;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    this.retryTimer = setTimeout(() => void this.connect(), delay);
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
