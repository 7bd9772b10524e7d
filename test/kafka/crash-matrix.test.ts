/**
 * Kafka dispatch crash matrix (issue #10): real broker, real Postgres, worker
 * nodes as real processes killed with SIGKILL. Each scenario ends with every
 * acknowledged job completed (0 lost, 0 stuck) and prints one report line
 * (docs/reliability.md). The workers' store fallback is off (10 min), so
 * recovery is Kafka's: records read again after a rebalance, the relay and
 * the consumers resuming after the broker is back. Both dispatch modes run
 * (consumer groups, share groups); KAFKA_CRASH_MODES picks fewer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Jobq } from '../../src/core/jobq.js';
import { freshSchema, startCluster, stopSharedCluster, testDatabaseUrl, type TestCluster } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { account, type Accounting } from './accounting.js';
import { testBroker, type TestBroker } from './broker.js';
import { kafkaNode } from './nodes.js';
import { diagnosis, duplicates, startWorker, stopAll, type WorkerProc } from './worker-procs.js';

const MODES = (process.env.KAFKA_CRASH_MODES ?? 'kafka,kafka-share').split(',');

let broker: TestBroker;
let url: string;
before(async () => {
  // Our own broker whatever KAFKA_BOOTSTRAP says: one scenario stops and restarts it. Share groups
  // notice a dead member after group.share.session.timeout.ms (45 s by default) and hand its records
  // to others after their acquisition lock (30 s): set here to what consumer groups get from the
  // client's 6 s session, so both modes are tested at the same pace.
  const properties = ['group.share.min.session.timeout.ms=6000', 'group.share.session.timeout.ms=6000', 'group.share.min.record.lock.duration.ms=5000', 'group.share.record.lock.duration.ms=10000'].join('\n');
  // A cluster id that starts with "-": start.sh once passed it as `-t ID`, which the format tool read as an option (1 random id in 64; a CI run failed on it).
  [broker, url] = await Promise.all([testBroker({ own: true, properties, clusterId: '-jobqTestClusterId001A' }), testDatabaseUrl()]);
});
after(async () => {
  await broker?.stop();
  await stopSharedCluster();
});

function report(mode: string, scenario: string, a: Accounting, dup: number, extra: string): void {
  console.log(`kafka crash | ${mode} | ${scenario} | acknowledged ${a.acknowledged} | lost ${a.lost.length} | duplicated ${dup} | stuck ${a.stuck.length} | ${extra}`);
}

/** Nothing lost, nothing stuck; a stuck job's report says where its record went (outbox, workers' buffers, their logs). */
async function assertNothingLost(a: Accounting, api: Jobq, workers: readonly WorkerProc[]): Promise<void> {
  assert.deepEqual(a.lost, [], 'no acknowledged job lost');
  if (a.stuck.length === 0) return;
  const stuck = new Set(a.stuck);
  const inOutbox = (await api.store.outboxRead!({ limit: 100_000 })).filter((e) => stuck.has(e.jobId)).length;
  const startedBy = (id: string) => workers.filter((w) => w.started.includes(id)).map((w) => w.name);
  assert.fail(
    [
      `${a.stuck.length} acknowledged jobs stuck (by status: ${JSON.stringify(a.stuckBy)}); ${inOutbox} of them still in the outbox`,
      `first ids: ${a.stuck.slice(0, 3).map((id) => `${id} (started by: ${startedBy(id).join(', ') || 'none'})`).join('; ')}`,
      await diagnosis(workers),
    ].join('\n'),
  );
}

const doneCount = (ws: readonly WorkerProc[]) => ws.reduce((n, w) => n + w.done.size, 0);

async function enqueueWork(api: Jobq, n: number, ms: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) ids.push(...(await api.enqueueMany(Array.from({ length: Math.min(500, n - i) }, () => ({ type: 'work', payload: { ms } })))).map((j) => j.id));
  return ids;
}

for (const mode of MODES) {
  describe(`Kafka crash matrix: ${mode}`, () => {
    it('a worker killed -9: its records come back after the rebalance; duplicates only among its in-flight jobs', async () => {
      const schema = freshSchema();
      const api = await kafkaNode({ url, schema, brokers: broker.bootstrap });
      const args = { url, schema, brokers: broker.bootstrap, mode, concurrency: 8 };
      const workers = [await startWorker('A', args), await startWorker('B', args), await startWorker('C', args)];
      try {
        const ids = await enqueueWork(api, 1500, 40);
        await waitFor(() => doneCount(workers) >= 300, { what: '300 jobs done', timeoutMs: 30_000, intervalMs: 20 });
        const [a] = workers;
        const killedAt = Date.now();
        a!.child.kill('SIGKILL');
        await waitFor(() => a!.exited, { what: 'A to die' });
        // Started and not completed in the store: a handler that had returned may still run again (its finish was not written yet).
        const inFlight = new Set(a!.started.filter((id) => !a!.stored.has(id)));
        const result = await account(api, ids, 60_000);
        const dups = duplicates(workers);
        report(mode, 'worker killed -9 (3 workers, 1,500 jobs of 40 ms)', result, dups.length, `all done ${Date.now() - killedAt} ms after the kill; A had ${inFlight.size} in flight`);
        await assertNothingLost(result, api, workers);
        for (const id of dups) assert.ok(inFlight.has(id), `duplicate ${id} was in flight on the killed worker`);
      } finally {
        await stopAll(workers);
        await api.close();
      }
    });

    it('a 4th worker joining mid-run takes a share; nothing lost, nothing run twice', async () => {
      const schema = freshSchema();
      const api = await kafkaNode({ url, schema, brokers: broker.bootstrap });
      const args = { url, schema, brokers: broker.bootstrap, mode, concurrency: 6 };
      const workers = [await startWorker('A', args), await startWorker('B', args), await startWorker('C', args)];
      try {
        // Enough work left when D joins for it to get a share after its rebalance (a few seconds): since the
        // workers claim ahead of their slots (prefetch), three of them finished 1,600 jobs of 30 ms in under 5 s.
        const ids = await enqueueWork(api, 4000, 30);
        await waitFor(() => doneCount(workers) >= 400, { what: '400 jobs done', timeoutMs: 30_000, intervalMs: 20 });
        const joinedAt = Date.now();
        const d = await startWorker('D', args);
        workers.push(d);
        const result = await account(api, ids, 60_000);
        const dups = duplicates(workers);
        report(mode, '4th worker joins mid-run (4,000 jobs of 30 ms)', result, dups.length, `D ran ${d.done.size} jobs; all done ${Date.now() - joinedAt} ms after it started`);
        await assertNothingLost(result, api, workers);
        assert.ok(d.done.size > 0, 'the new worker ran some jobs');
        assert.deepEqual(dups, [], 'a rebalance without a crash runs nothing twice');
      } finally {
        await stopAll(workers);
        await api.close();
      }
    });

    it('the broker stopped and restarted under load: enqueues keep succeeding, dispatch resumes', async () => {
      const schema = freshSchema();
      const api = await kafkaNode({ url, schema, brokers: broker.bootstrap });
      const args = { url, schema, brokers: broker.bootstrap, mode, concurrency: 8 };
      const workers = [await startWorker('A', args), await startWorker('B', args)];
      const ids: string[] = [];
      let enqueueErrors = 0;
      let enqueuing = true;
      const load = (async () => {
        while (enqueuing) {
          try {
            ids.push(...(await api.enqueueMany(Array.from({ length: 20 }, () => ({ type: 'work', payload: { ms: 20 } })))).map((j) => j.id));
          } catch {
            enqueueErrors++;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        await waitFor(() => doneCount(workers) >= 100, { what: '100 jobs done', timeoutMs: 30_000, intervalMs: 20 });
        const downAt = Date.now();
        await broker.halt();
        const enqueuedBefore = ids.length;
        await waitFor(() => ids.length >= enqueuedBefore + 100, { what: 'enqueues while the broker is down', timeoutMs: 20_000 });
        const doneWhileDown = doneCount(workers);
        await broker.start();
        const upAt = Date.now();
        await new Promise((r) => setTimeout(r, 1000)); // keep enqueueing for a second with the broker back
        enqueuing = false;
        await load;
        const result = await account(api, ids, 90_000);
        const dups = duplicates(workers);
        report(mode, 'broker stopped and restarted under load (2 workers, 200 jobs/s)', result, dups.length, `down ${upAt - downAt} ms, ${ids.length - enqueuedBefore} enqueued meanwhile, 0 enqueue errors; all done ${Date.now() - upAt} ms after the broker was back`);
        assert.equal(enqueueErrors, 0, 'every enqueue succeeded while the broker was away');
        await assertNothingLost(result, api, workers);
        assert.ok(doneCount(workers) > doneWhileDown, 'dispatch resumed once the broker was back');
      } finally {
        enqueuing = false;
        await load;
        await stopAll(workers);
        await api.close();
      }
    });

    it('Postgres restarted under load: every acknowledged job completes', async () => {
      const cluster: TestCluster = await startCluster();
      const schema = freshSchema();
      const api = await kafkaNode({ url: cluster.url, schema, brokers: broker.bootstrap });
      const args = { url: cluster.url, schema, brokers: broker.bootstrap, mode, concurrency: 8 };
      const workers = [await startWorker('A', args), await startWorker('B', args)];
      const ids: string[] = [];
      let enqueuing = true;
      const load = (async () => {
        while (enqueuing) {
          try {
            ids.push(...(await api.enqueueMany(Array.from({ length: 20 }, () => ({ type: 'work', payload: { ms: 20 } })))).map((j) => j.id));
          } catch {
            // Not acknowledged while the database is down: not counted.
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        await waitFor(() => doneCount(workers) >= 100, { what: '100 jobs done', timeoutMs: 30_000, intervalMs: 20 });
        const downAt = Date.now();
        await cluster.stop();
        await new Promise((r) => setTimeout(r, 1500)); // the outage itself, not a synchronisation
        await cluster.start();
        const upAt = Date.now();
        await waitFor(() => ids.length > 0 && doneCount(workers) > 0, { what: 'load to go on' });
        await new Promise((r) => setTimeout(r, 1000)); // keep enqueueing for a second with Postgres back
        enqueuing = false;
        await load;
        const result = await account(api, ids, 90_000);
        const dups = duplicates(workers);
        report(mode, 'Postgres stopped 1.5 s and started again under load (2 workers)', result, dups.length, `down ${upAt - downAt} ms; all done ${Date.now() - upAt} ms after it was back`);
        await assertNothingLost(result, api, workers);
      } finally {
        enqueuing = false;
        await load;
        await stopAll(workers);
        await api.close();
        await cluster.destroy();
      }
    });
  });
}
