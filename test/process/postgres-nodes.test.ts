/** Many jobq processes on one Postgres database: real processes, real kill -9, a real server restart. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { Jobq } from '../../src/core/jobq.js';
import { IN_PROCESS_AUTO_MAX } from '../../src/core/worker/claim-ahead.js';
import { MIGRATIONS } from '../../src/storage/postgres/migrations.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { http } from '../helpers/http-server.js';
import { freshSchema, startCluster, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { FIXTURE_HANDLERS, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { waitFor } from '../helpers/wait-for.js';

after(stopSharedCluster);

const counts = async (url: string, queue = 'default') =>
  ((await http(url, 'GET', '/v1/queues')).body.queues as { name: string; counts: Record<string, number> }[]).find((q) => q.name === queue)?.counts;

async function enqueueBulk(url: string, total: number, type: string) {
  for (let done = 0; done < total; done += 1000) {
    const res = await http(url, 'POST', '/v1/jobs', Array.from({ length: Math.min(1000, total - done) }, (_, i) => ({ type, payload: { i: done + i } })));
    assert.equal(res.status, 201, res.text);
  }
}

function readRuns(dir: string): Map<string, string[]> {
  const byPid = new Map<string, string[]>();
  for (const f of readdirSync(dir)) byPid.set(f.replace('.log', ''), readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
  return byPid;
}

describe('Postgres: many nodes', () => {
  it('transactional enqueue: a rolled-back transaction leaves no job, a committed one runs', async () => {
    const url = await testDatabaseUrl();
    const store = await PostgresStore.open({ connectionString: url, schema: freshSchema() });
    const ran: string[] = [];
    const jobq = new Jobq({ store, handlers: { t: (job) => void ran.push(job.id) }, pollIntervalMs: 60_000 });
    jobq.startWorkers();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('BEGIN');
      const [rolledBack] = await jobq.enqueueInTransaction(client, { type: 't' });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      const [committed] = await jobq.enqueueInTransaction(client, { type: 't' });
      assert.equal(await jobq.get(committed!.id), null, 'invisible before commit');
      await client.query('COMMIT');
      await waitFor(() => ran.includes(committed!.id), { what: 'the committed job to run (woken by NOTIFY)' });
      assert.equal(await jobq.get(rolledBack!.id), null);
      assert.deepEqual(ran, [committed!.id]);
    } finally {
      await client.end();
      await jobq.close();
    }
  });

  it('with --no-listen a worker node still finds work by polling', async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const common = ['--store', 'postgres', '--database-url', url, '--pg-schema', schema];
    const api = await spawnServer([...common, '--queues', 'none']);
    const worker = await spawnServer([...common, '--no-listen', '--poll-interval-ms', '100', '--handlers', FIXTURE_HANDLERS], { command: 'worker' });
    try {
      await enqueueBulk(api.url, 50, 'noop');
      await waitFor(async () => (await counts(api.url))?.completed === 50, { what: '50 jobs completed by polling' });
    } finally {
      api.child.kill('SIGKILL');
      worker.child.kill('SIGKILL');
    }
  });

  it('10 nodes started at once on an empty schema migrate once and all come up', async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const nodes = await Promise.all(
      Array.from({ length: 10 }, () => spawnServer(['--store', 'postgres', '--database-url', url, '--pg-schema', schema, '--pg-pool-size', '2'], { timeoutMs: 30_000 })),
    );
    try {
      for (const n of nodes) assert.equal((await http(n.url, 'GET', '/readyz')).status, 200);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const { rows } = await c.query(`SELECT version, count(*)::int AS n FROM "${schema}".jobq_migrations GROUP BY version ORDER BY version`);
      await c.end();
      assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version, n: 1 })), 'each migration applied exactly once');
    } finally {
      for (const n of nodes) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
    }
  });

  it('1 API node + 3 workers, 20,000 jobs, one worker killed -9: all complete; only its jobs run twice', async () => {
    const url = await testDatabaseUrl();
    const schema = freshSchema();
    const runDir = mkdtempSync(join(tmpdir(), 'jobq-runs-'));
    const common = ['--store', 'postgres', '--database-url', url, '--pg-schema', schema];
    const workerArgs = [...common, '--handlers', FIXTURE_HANDLERS, '--concurrency', '20', '--lease-ms', '2000', '--rescue-interval-ms', '300'];
    const api = await spawnServer([...common, '--queues', 'none']);
    const workers: ServerProcess[] = [];
    try {
      await enqueueBulk(api.url, 20_000, 'recordRun');
      for (let i = 0; i < 3; i++) workers.push(await spawnServer(workerArgs, { command: 'worker', env: { JOBQ_RUN_LOG_DIR: runDir } }));
      await waitFor(async () => ((await counts(api.url))?.completed ?? 0) >= 5000, { what: '5,000 completed', timeoutMs: 60_000 });
      const victim = workers[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      await waitFor(async () => (await counts(api.url))?.completed === 20_000, { what: 'all 20,000 completed', timeoutMs: 120_000, intervalMs: 200 });
      const final = await counts(api.url);
      assert.deepEqual([final?.pending, final?.processing, final?.scheduled, final?.failed], [0, 0, 0, 0]);
      const runs = readRuns(runDir);
      const victimRuns = new Set(runs.get(String(victim.child.pid)) ?? []);
      const seen = new Map<string, number>();
      for (const ids of runs.values()) for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const rescued = (await c.query(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE attempts > 1`)).rows[0].n as number;
      await c.end();
      console.log(`multi-node: 20000 jobs, ${seen.size} distinct run, ${twice.length} ran twice, ${rescued} rescued, killed node ran ${victimRuns.size}`);
      // A rescued job may have run once only: the kill can land after its claim committed but before the handler started.
      assert.ok(twice.length <= rescued, 'no job ran twice unless its lease expired and it was rescued');
      // What it could hold: its running jobs and a claim in flight (2 × concurrency), and the jobs it claimed ahead
      // of its slots (prefetch: at most IN_PROCESS_AUTO_MAX), which a kill leaves to the rescuer too.
      assert.ok(rescued <= 2 * 20 + IN_PROCESS_AUTO_MAX, `rescued at most what the killed node could hold (2 × concurrency + ${IN_PROCESS_AUTO_MAX} ahead), got ${rescued}`);
      assert.equal(seen.size, 20_000);
      assert.ok(twice.every((id) => victimRuns.has(id)), 'only jobs the killed node held ran twice');
    } finally {
      for (const p of [api, ...workers]) p.child.kill('SIGKILL');
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('Postgres stopped and started again mid-run: every job completes and every node stays up', async () => {
    const cluster = await startCluster();
    const args = ['--store', 'postgres', '--database-url', cluster.url, '--handlers', FIXTURE_HANDLERS, '--concurrency', '10', '--lease-ms', '3000', '--rescue-interval-ms', '500', '--poll-interval-ms', '200'];
    const node = await spawnServer(args);
    const worker = await spawnServer(args, { command: 'worker' });
    try {
      await enqueueBulk(node.url, 3000, 'recordRun');
      await waitFor(async () => ((await counts(node.url))?.completed ?? 0) >= 300, { what: '300 completed' });
      await cluster.stop();
      await new Promise((r) => setTimeout(r, 1500)); // the outage itself: nothing to wait for
      const during = await http(node.url, 'GET', '/v1/queues');
      assert.equal(during.status, 503, 'a request during the outage gets a 503, not a crash');
      await cluster.start();
      await waitFor(async () => (await counts(node.url).catch(() => undefined))?.completed === 3000, { what: 'all 3,000 completed after the restart', timeoutMs: 60_000, intervalMs: 200 });
      console.log('chaos | Postgres server stopped 1.5 s and restarted under load | postgres | runs 1 | acknowledged 3000 | lost 0 | duplicated - | stuck 0');
      assert.equal(node.child.exitCode, null, 'API node still running');
      assert.equal(worker.child.exitCode, null, 'worker node still running');
    } finally {
      node.child.kill('SIGKILL');
      worker.child.kill('SIGKILL');
      await cluster.destroy();
    }
  });
});
