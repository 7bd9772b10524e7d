/**
 * Kafka dispatch conformance (issue #10), real broker and real Postgres:
 * every job runs at least once, a cancelled job never runs, a delayed job
 * starts on time, retries come back when due, and jobs of one ordering key
 * run one at a time in enqueue order across two nodes. The store fallback is
 * pushed out to 10 minutes, so everything here travels through Kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Producer, stringSerializers } from '@platformatic/kafka';
import type { Jobq } from '../../src/core/jobq.js';
import { queueTopic } from '../../src/kafka/topics.js';
import type { HandlerMap } from '../../src/core/handler.js';
import { adminQuery, freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { testBroker, type TestBroker } from './broker.js';
import { kafkaNode } from './nodes.js';

let broker: TestBroker;
let url: string;
before(async () => {
  [broker, url] = await Promise.all([testBroker(), testDatabaseUrl()]);
});
after(async () => {
  await broker?.stop();
  await stopSharedCluster();
});

const NO_FALLBACK = { fallbackClaimMs: 600_000 };

/** Two worker nodes and an API-only node (no queues) that enqueues, on one fresh schema. */
async function cluster(handlers: HandlerMap, concurrency = 10) {
  const schema = freshSchema();
  const nodes: Jobq[] = [];
  for (let i = 0; i < 2; i++) nodes.push(await kafkaNode({ url, schema, brokers: broker.bootstrap, handlers, concurrency, kafka: NO_FALLBACK }));
  const api = await kafkaNode({ url, schema, brokers: broker.bootstrap, kafka: NO_FALLBACK });
  return {
    schema,
    api,
    nodes,
    close: () => Promise.all([...nodes, api].map((n) => n.close())),
  };
}

describe('Kafka dispatch conformance', () => {
  it('runs every job at least once, through Kafka (a stray record on the topic is skipped)', async () => {
    const runs = new Map<string, number>();
    const c = await cluster({ work: (job) => void runs.set(job.id, (runs.get(job.id) ?? 0) + 1) });
    try {
      const producer = new Producer({ clientId: 'stray', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
      await producer.send({ messages: [{ topic: queueTopic(`jobq.${c.schema}.`, 'default'), value: 'not a job id' }] });
      await producer.close();
      const jobs = await c.api.enqueueMany(Array.from({ length: 300 }, (_, i) => ({ type: 'work', payload: { i } })));
      await waitFor(() => jobs.every((j) => runs.has(j.id)), { what: 'all 300 jobs to run', timeoutMs: 30_000 });
      await waitFor(async () => (await c.api.queues.list()).queues.find((q) => q.name === 'default')?.counts.completed === 300, { what: '300 completed', timeoutMs: 10_000 });
      const published = c.nodes.reduce((n, x) => n + relayOf(x), relayOf(c.api));
      assert.ok(published >= 300, `the relay published every job (${published})`);
      // The last batch sent is deleted by the relay's next read (its poll, with nothing new to publish).
      await waitFor(async () => (await c.api.store.outboxRead!({ limit: 1 })).length === 0, { what: 'the outbox to empty', timeoutMs: 5_000 });
    } finally {
      await c.close();
    }
  });

  it('listens for store changes on the relay leader only, and on the nodes of a flow-controlled queue while it is one', async () => {
    let running = 0;
    let peak = 0;
    const done = new Set<string>();
    const c = await cluster({
      work: async (job) => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        done.add(job.id);
      },
    });
    try {
      // Each notification costs Postgres work per listening connection: worker nodes get their jobs from Kafka.
      await waitFor(async () => [c.api, ...c.nodes].some(relayLeader) && (await listening(c.schema)) === 1, { what: 'the relay leader alone to listen', timeoutMs: 10_000 });
      await c.api.queues.configure('default', { concurrency: 3 });
      // Flow-controlled jobs are claimed from the store, which wakes the worker nodes as it would without Kafka.
      const expected = c.nodes.length + (relayLeader(c.api) ? 1 : 0);
      await waitFor(async () => (await listening(c.schema)) === expected, { what: `${expected} nodes to listen while the queue is flow-controlled`, timeoutMs: 10_000 });
      const jobs = await c.api.enqueueMany(Array.from({ length: 30 }, () => ({ type: 'work' })));
      await waitFor(() => jobs.every((j) => done.has(j.id)), { what: 'the 30 flow-controlled jobs to run', timeoutMs: 20_000 });
      assert.ok(peak <= 3, `at most 3 jobs of the queue at once across the nodes (${peak})`);
      await c.api.queues.configure('default', { concurrency: null });
      await waitFor(async () => (await listening(c.schema)) === 1, { what: 'the worker nodes to stop listening once the limit is gone', timeoutMs: 10_000 });
    } finally {
      await c.close();
    }
  });

  it('never runs a cancelled job; runs the others on time', async () => {
    const started = new Map<string, number>();
    const c = await cluster({ work: (job) => void started.set(job.id, Date.now()) });
    try {
      const jobs = await c.api.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ type: 'work', delayMs: 1000 + (i % 4) * 500 })));
      const cancelled = jobs.filter((_, i) => i % 2 === 0);
      for (const j of cancelled) await c.api.cancel(j.id);
      const kept = jobs.filter((_, i) => i % 2 === 1);
      await waitFor(() => kept.every((j) => started.has(j.id)), { what: 'the 20 kept jobs to start', timeoutMs: 20_000 });
      // Give any wrongly published cancelled job the time to show up.
      await waitFor(async () => (await c.api.queues.list()).queues.find((q) => q.name === 'default')?.counts.completed === 20, { what: '20 completed', timeoutMs: 10_000 });
      for (const j of cancelled) {
        assert.equal(started.has(j.id), false, `cancelled job ${j.id} never starts`);
        assert.equal((await c.api.get(j.id))?.status, 'cancelled');
      }
      const lateness = kept.map((j) => started.get(j.id)! - j.runAt);
      assert.ok(lateness.every((ms) => ms >= 0), `no job starts before its runAt (${lateness.join(', ')})`);
      const worst = Math.max(...lateness);
      console.log(`kafka delayed jobs | 20 jobs, start - runAt: median ${lateness.sort((a, b) => a - b)[10]} ms, worst ${worst} ms`);
      assert.ok(worst < 1000, `every delayed job starts within 1 s of its runAt (worst ${worst} ms)`);
    } finally {
      await c.close();
    }
  });

  it('re-publishes retries when due', async () => {
    const attempts = new Map<string, number>();
    const c = await cluster({
      flaky: (job, ctx) => {
        attempts.set(job.id, ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
      },
    });
    try {
      const jobs = await c.api.enqueueMany(Array.from({ length: 10 }, () => ({ type: 'flaky', maxAttempts: 3 })));
      await waitFor(async () => (await Promise.all(jobs.map((j) => c.api.get(j.id)))).every((j) => j?.status === 'completed'), { what: 'every flaky job to complete', timeoutMs: 20_000, intervalMs: 100 });
      for (const j of jobs) assert.equal(attempts.get(j.id), 3, 'completed on its third attempt');
    } finally {
      await c.close();
    }
  });

  it('runs the jobs of one ordering key one at a time, in enqueue order, across nodes (a retry holds the key)', async () => {
    const log = new Map<string, { n: number; start: number; end: number }[]>();
    const failedOnce = new Set<number>();
    const c = await cluster(
      {
        step: async (job) => {
          const { key, n } = job.payload as { key: string; n: number };
          const entry = { n, start: performance.now(), end: Infinity };
          (log.get(key) ?? log.set(key, []).get(key)!).push(entry);
          await new Promise((r) => setTimeout(r, 2 + (n % 5) * 3));
          entry.end = performance.now();
          // One job of key k0 fails once: its successors must wait for its retry.
          if (key === 'k0' && n === 7 && !failedOnce.has(n)) {
            failedOnce.add(n);
            throw new Error('fails once');
          }
        },
        other: () => {},
      },
      10,
    );
    try {
      const keys = ['k0', 'k1', 'k2', 'k3'];
      const inputs = [];
      for (let n = 0; n < 25; n++) for (const key of keys) inputs.push({ type: 'step', orderingKey: key, payload: { key, n } }, { type: 'other' });
      // Enqueued in several batches, as separate callers would.
      for (let i = 0; i < inputs.length; i += 20) await c.api.enqueueMany(inputs.slice(i, i + 20));
      await waitFor(() => keys.every((k) => (log.get(k) ?? []).filter((e) => e.end !== Infinity).length >= 25 + (k === 'k0' ? 1 : 0)), {
        what: 'every keyed job to run',
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      for (const key of keys) {
        const runs = log.get(key)!;
        const order = runs.map((r) => r.n);
        const expected = Array.from({ length: 25 }, (_, n) => n);
        if (key === 'k0') expected.splice(8, 0, 7);
        assert.deepEqual(order, expected, `key ${key} ran in enqueue order (a failed attempt retried before its successor)`);
        for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.start >= runs[i - 1]!.end, `key ${key}: run ${i} started after run ${i - 1} ended`);
      }
    } finally {
      await c.close();
    }
  });
});

function relayLeader(jobq: Jobq): boolean {
  return (jobq as unknown as { dispatch: { relay: { isLeader: boolean } } }).dispatch.relay.isLeader;
}

/** Nodes whose LISTEN connection listens on the schema's wake-up channel (its last statement, as Postgres shows it). */
async function listening(schema: string): Promise<number> {
  const { rows } = await adminQuery(url, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'jobq/%/listen' AND query = $1`, [`LISTEN "jobq_${schema}"`]);
  return (rows[0] as { n: number }).n;
}

function relayOf(jobq: Jobq): number {
  return (jobq as unknown as { dispatch: { relay: { published: number } } }).dispatch.relay.published;
}
