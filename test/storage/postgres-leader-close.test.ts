/**
 * Every node that tried for a leadership holds a dedicated Postgres
 * connection for its advisory lock, leader or not. Closing a node must close
 * that connection too: a follower's stayed open after close(), so a process
 * that closed its nodes never exited (found with a test file run against a
 * given database, where no cluster teardown cut the connection).
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { Jobq } from '../../src/core/jobq.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

after(stopSharedCluster);

async function leaderConnections(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`jobq/${process.pid}/leader`]);
    return rows[0]!.n;
  } finally {
    await c.end();
  }
}

it('closing a leader and a follower leaves none of their leadership connections open', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const nodes = [new Jobq({ store: await PostgresStore.open({ connectionString: url, schema }), queues: {} }), new Jobq({ store: await PostgresStore.open({ connectionString: url, schema }), queues: {} })];
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(() => nodes.some((n) => n.isLeader), { what: 'one node to lead' });
  assert.equal(nodes.filter((n) => n.isLeader).length, 1, 'one leader, one follower');
  assert.ok((await leaderConnections(url)) >= 2, 'both nodes hold a leadership connection while they run');
  await Promise.all(nodes.map((n) => n.close()));
  await waitFor(async () => (await leaderConnections(url)) === 0, { what: 'no leadership connection left after close()', timeoutMs: 5000 });
});
