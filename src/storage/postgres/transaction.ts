/** BEGIN … COMMIT on one pooled client, safe against the connection dying mid-way. */
import type pg from 'pg';
import { isTransient } from './transient.js';

export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, onLost: (err: unknown) => void = () => {}): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: without this, a connection killed
  // mid-transaction emits an unhandled 'error' and takes the process down (seen in the
  // pg_terminate_backend chaos test). The failing query rejects on its own.
  client.on('error', onLost);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    broken = err as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.off('error', onLost);
    // Hand a client whose connection failed back with its error, so the pool discards it.
    client.release(broken && isTransient(broken) ? broken : undefined);
  }
}
