/**
 * Topic ingest and the event feed (issue #10, items 4 and 5), real broker,
 * real Postgres. Ingest: each record becomes one job with its key, headers
 * and value kept, exactly once, even when the consumer group's Kafka offsets
 * are lost and the whole topic is read again (the positions in Postgres,
 * moved in the insert transaction, decide). Event feed: every transition of
 * a job reaches the topic, keyed by the job id, in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, MessagesStreamFallbackModes, MessagesStreamModes, Producer, ProduceAcks, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Jobq } from '../../src/core/jobq.js';
import type { JobEvent } from '../../src/contracts/events.js';
import { startKafkaExtras } from '../../src/kafka/extras.js';
import type { IngestPayload } from '../../src/kafka/ingest.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { testBroker, type TestBroker } from './broker.js';
import { FAST } from './nodes.js';

let broker: TestBroker;
let url: string;
before(async () => {
  [broker, url] = await Promise.all([testBroker(), testDatabaseUrl()]);
});
after(async () => {
  await broker?.stop();
  await stopSharedCluster();
});

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

async function produce(topic: string, from: number, to: number): Promise<void> {
  const producer = new Producer({ clientId: 'test-producer', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, acks: ProduceAcks.ALL });
  const messages = [];
  for (let n = from; n < to; n++) messages.push({ topic, key: `k${n % 7}`, value: n % 2 === 0 ? JSON.stringify({ n }) : `text-${n}`, headers: { source: 'test', n: String(n) } });
  await producer.send({ messages });
  await producer.close();
}

describe('topic ingest', () => {
  it('turns each record into one job, key and headers kept, exactly once even when Kafka forgets the group offsets', async () => {
    const topic = unique('orders');
    const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: [broker.bootstrap] });
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    const store = await PostgresStore.open({ connectionString: url, schema: freshSchema() });
    const seen: IngestPayload[] = [];
    const jobq = new Jobq({ store, handlers: { order: (job) => void seen.push(job.payload as IngestPayload) }, queues: { ingested: { concurrency: 10 } }, ...FAST });
    await jobq.start();
    const kafka = { brokers: [broker.bootstrap], ingest: [{ topic, type: 'order', queue: 'ingested' }] };
    try {
      await produce(topic, 0, 150);
      const first = await startKafkaExtras(jobq, kafka);
      await waitFor(() => seen.length >= 150, { what: '150 ingested jobs to run', timeoutMs: 30_000 });
      await first.stop();
      for (const p of seen) {
        const n = Number(p.headers.n);
        assert.equal(p.topic, topic);
        assert.equal(p.key, `k${n % 7}`, 'the record key is kept');
        assert.deepEqual(p.headers, { source: 'test', n: String(n) }, 'the headers are kept');
        assert.deepEqual(p.value, n % 2 === 0 ? { n } : `text-${n}`, 'JSON values parsed, others kept as text');
      }
      // Kafka loses the group's offsets: the next reader starts from the beginning of every partition.
      await admin.deleteGroups({ groups: [first.ingests[0]!.consumerName] });
      await produce(topic, 150, 200);
      const second = await startKafkaExtras(jobq, kafka);
      await waitFor(() => second.ingests[0]!.read >= 200, { what: 'the second reader to read all 200 records', timeoutMs: 30_000 });
      assert.equal(second.ingests[0]!.inserted, 50, 'only the 50 new records became jobs');
      await waitFor(() => seen.length >= 200, { what: '200 jobs to run', timeoutMs: 30_000 });
      await second.stop();
      const positions = seen.map((p) => `${p.partition}/${p.offset}`);
      assert.equal(new Set(positions).size, 200, 'each record became exactly one job');
      // The handlers ran; their completions are written a moment later (group commit).
      await waitFor(async () => (await jobq.queues.list()).queues.find((q) => q.name === 'ingested')?.counts.completed === 200, { what: '200 jobs completed', timeoutMs: 10_000 });
    } finally {
      await jobq.close();
      await admin.close();
    }
  });
});

describe('event feed', () => {
  it("publishes every transition of this node's jobs, keyed by job id, in order per job", async () => {
    const topic = unique('jobq-events');
    const store = await PostgresStore.open({ connectionString: url, schema: freshSchema() });
    const jobq = new Jobq({ store, handlers: { ok: () => 'fine', flaky: (_job, ctx) => { if (ctx.attempt === 1) throw new Error('once'); } }, queues: { default: { concurrency: 5 } }, ...FAST });
    await jobq.start();
    const feed = await startKafkaExtras(jobq, { brokers: [broker.bootstrap], eventsTopic: topic });
    const consumer = new Consumer({ clientId: 'test-reader', groupId: unique('reader'), bootstrapBrokers: [broker.bootstrap], deserializers: stringDeserializers });
    const got = new Map<string, JobEvent[]>();
    // A new group's stream may read a partition again from its start after the join (a rewind): keep each record once.
    const positions = new Set<string>();
    try {
      const jobs = await jobq.enqueueMany([...Array.from({ length: 10 }, () => ({ type: 'ok' })), ...Array.from({ length: 5 }, () => ({ type: 'flaky' }))]);
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, fallbackMode: MessagesStreamFallbackModes.EARLIEST });
      stream.on('data', (m) => {
        if (positions.has(`${m.partition}/${m.offset}`)) return;
        positions.add(`${m.partition}/${m.offset}`);
        const e = JSON.parse(m.value) as JobEvent;
        assert.equal(m.key, e.jobId, 'keyed by job id');
        (got.get(e.jobId) ?? got.set(e.jobId, []).get(e.jobId)!).push(e);
      });
      await waitFor(() => jobs.every((j) => got.get(j.id)?.some((e) => e.kind === 'completed')), { what: 'every job to complete on the feed', timeoutMs: 30_000 });
      await stream.close();
      for (const j of jobs) {
        const kinds = got.get(j.id)!.map((e) => e.kind);
        const expected = j.type === 'ok' ? ['enqueued', 'started', 'completed'] : ['enqueued', 'started', 'retrying', 'started', 'completed'];
        assert.deepEqual(kinds, expected, `job ${j.id} (${j.type}) events in order`);
      }
      assert.equal(feed.feed!.dropped, 0);
    } finally {
      await consumer.close(true);
      await feed.stop();
      await jobq.close();
    }
  });
});
