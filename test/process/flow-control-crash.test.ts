/**
 * Flow control survives a crash (issue #12, item 7): a node killed -9 while
 * holding every slot of a queue's cluster-wide concurrency limit gives them
 * back once its leases are rescued, and the limit holds throughout. Real
 * processes, real SIGKILL, on SQLite and Postgres.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Jobq } from '../../src/core/jobq.js';
import type { Store } from '../../src/contracts/store.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

after(stopSharedCluster);

const NODE = fileURLToPath(new URL('../fixtures/flow-node.js', import.meta.url));

interface FlowNode {
  child: ChildProcess;
  started: string[];
  ready: boolean;
}

function startNode(store: string[], types: string): FlowNode {
  const child = spawn(process.execPath, [NODE, ...store, types], { stdio: ['ignore', 'pipe', 'inherit'] });
  const node: FlowNode = { child, started: [], ready: false };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'ready') node.ready = true;
      else if (line.startsWith('start ')) node.started.push(line.slice(6));
    }
  });
  return node;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`flow control after a crash: ${backend}`, () => {
    it('slots held by a node killed -9 come back when its leases are rescued; the limit holds throughout', async () => {
      const dir = tempDir();
      let args: string[];
      let store: Store;
      if (backend === 'sqlite') {
        args = ['sqlite', dir.file('jobs.db')];
        store = new SqliteStore({ path: args[1]! });
      } else {
        args = ['postgres', await testDatabaseUrl(), freshSchema()];
        store = await PostgresStore.open({ connectionString: args[1]!, schema: args[2]! });
      }
      const admin = new Jobq({ store, queues: {} });
      const nodes: FlowNode[] = [];
      let peak = 0;
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const q = (await admin.queues.list()).queues.find((x) => x.name === 'default');
          peak = Math.max(peak, q?.counts.processing ?? 0);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        await admin.queues.configure('default', { concurrency: 2 });
        const hung = await admin.enqueueMany([{ type: 'hang' }, { type: 'hang' }]);
        const a = startNode(args, 'hang,quick');
        nodes.push(a);
        await waitFor(() => a.started.length === 2, { what: 'node A to take both slots', timeoutMs: 15_000 });
        const quick = await admin.enqueueMany([{ type: 'quick' }, { type: 'quick' }, { type: 'quick' }]);
        const b = startNode(args, 'quick');
        nodes.push(b);
        await waitFor(() => b.ready, { what: 'node B to start', timeoutMs: 15_000 });
        assert.equal(b.started.length + a.started.length, 2, 'no quick job starts while A holds both slots');
        const killedAt = Date.now();
        a.child.kill('SIGKILL');
        await waitFor(async () => (await Promise.all(quick.map((j) => admin.get(j.id)))).every((j) => j?.status === 'completed'), {
          what: 'the quick jobs to complete on B',
          timeoutMs: 20_000,
          intervalMs: 50,
        });
        console.log(`flow-control crash | ${backend} | slots back and 3 jobs done ${Date.now() - killedAt} ms after kill -9 (lease 1000 ms)`);
        assert.deepEqual(b.started.sort(), quick.map((j) => j.id).sort());
        for (const h of hung) {
          const job = await admin.get(h.id);
          assert.ok(job && job.status !== 'processing', `hung job ${h.id} was rescued (now ${job?.status})`);
          assert.match(job.errors.at(-1)?.message ?? '', /lease/);
        }
        watching = false;
        await watch;
        assert.ok(peak <= 2, `at most 2 processing at any poll (saw ${peak})`);
      } finally {
        watching = false;
        await watch.catch(() => {});
        for (const n of nodes) n.child.kill('SIGKILL');
        await admin.close();
        dir.remove();
      }
    });
  });
}
