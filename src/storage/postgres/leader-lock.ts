/**
 * Leadership as a Postgres advisory lock held on a dedicated connection. The
 * lock lives exactly as long as that connection: a leader killed with
 * SIGKILL, or cut off from the database, loses it at once, and the next node
 * to try takes it.
 */
import type pg from 'pg';
import type { LeaderLock } from '../../contracts/store.js';
import { Client } from './driver.js';

export function advisoryKey(text: string): number {
  let h = 0;
  for (const ch of text) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

export class AdvisoryLeaderLock implements LeaderLock {
  private client: pg.Client | null = null;
  private held = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly key: number,
    private readonly onWarning: (message: string, err: unknown) => void,
  ) {}

  async tryAcquire(): Promise<boolean> {
    try {
      const client = await this.connect();
      if (this.held) {
        // Ours already (advisory locks stack: never take it twice); check the connection still lives.
        await client.query('SELECT 1');
        return true;
      }
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
      this.held = rows[0]?.ok === true;
      return this.held;
    } catch (err) {
      this.drop(err);
      return false;
    }
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new Client(this.config);
    client.on('error', (err) => this.drop(err));
    client.on('end', () => this.drop());
    this.client = client;
    await client.connect();
    return client;
  }

  private drop(err?: unknown): void {
    const c = this.client;
    this.client = null;
    if (this.held && err) this.onWarning('leadership connection lost; leadership released', err);
    this.held = false;
    if (c) {
      c.removeAllListeners('end');
      void c.end().catch(() => {});
    }
  }

  async release(): Promise<void> {
    const c = this.client;
    if (c && this.held) await c.query('SELECT pg_advisory_unlock($1)', [this.key]).catch(() => {});
    this.held = false;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      await c.end().catch(() => {});
    }
  }
}
