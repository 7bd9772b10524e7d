/**
 * The Kafka CLI flags as src/kafka/cli-options.ts reads them (the CLI wires
 * them in; see .tmp/kafka-requests.md): every refusal names its flag, and
 * brokers that cannot be reached make start() fail within the connect
 * timeout with one line naming --kafka-brokers, which the CLI prints before
 * exiting 2.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { Jobq } from '../../src/core/jobq.js';
import { kafkaStartupMessage, KafkaFlagError, planKafka } from '../../src/kafka/cli-options.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

function refusal(flags: Parameters<typeof planKafka>[0]): string {
  try {
    planKafka(flags);
  } catch (err) {
    assert.ok(err instanceof KafkaFlagError, `a KafkaFlagError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(flags)}`);
}

describe('Kafka CLI flags', () => {
  it('refuses what cannot work, naming the flag', () => {
    assert.match(refusal({ store: 'postgres', dispatch: 'rabbit' }), /^--dispatch must be one of store, kafka, kafka-share/);
    assert.match(refusal({ store: 'postgres', dispatch: 'kafka' }), /^--dispatch kafka needs --kafka-brokers host:port$/);
    assert.match(refusal({ store: 'sqlite', dispatch: 'kafka', kafkaBrokers: '127.0.0.1:9092' }), /^--dispatch kafka needs --store postgres/);
    assert.match(refusal({ store: 'sqlite', ingest: ['orders=order'], kafkaBrokers: '127.0.0.1:9092' }), /^--ingest needs --store postgres/);
    assert.match(refusal({ store: 'postgres', dispatch: 'kafka', kafkaBrokers: 'nohostport' }), /^--kafka-brokers "nohostport": has "nohostport", which is not host:port/);
    assert.match(refusal({ store: 'postgres', kafkaBrokers: '127.0.0.1:9092' }), /^--kafka-brokers is given but nothing uses Kafka/);
    assert.match(refusal({ store: 'postgres', ingest: ['orders'], kafkaBrokers: '127.0.0.1:9092' }), /^--ingest "orders" must be topic=type or topic=type:queue$/);
    assert.match(refusal({ store: 'memory', eventsTopic: 'bad topic', kafkaBrokers: '127.0.0.1:9092' }), /^--events-topic "bad topic" is not a Kafka topic name/);
  });

  it('turns valid flags into a dispatch and the extras', () => {
    assert.deepEqual(planKafka({ store: 'sqlite' }), { mode: 'store', dispatch: undefined, extras: null });
    const plan = planKafka({ store: 'postgres', dispatch: 'kafka', kafkaBrokers: 'a:1,b:2', ingest: ['orders=order:ingested', 'clicks=click'], eventsTopic: 'jobq-events' });
    assert.equal(plan.mode, 'kafka');
    assert.equal(typeof plan.dispatch, 'function');
    assert.deepEqual(plan.extras?.brokers, ['a:1', 'b:2']);
    assert.deepEqual(plan.extras?.ingest, [
      { topic: 'orders', type: 'order', queue: 'ingested' },
      { topic: 'clicks', type: 'click' },
    ]);
    assert.equal(plan.extras?.eventsTopic, 'jobq-events');
    // The event feed alone works with any store.
    assert.equal(planKafka({ store: 'sqlite', eventsTopic: 'ev', kafkaBrokers: 'a:1' }).dispatch, undefined);
  });

  it('brokers that cannot be reached fail start() quickly with one line naming --kafka-brokers', async () => {
    // A port that refuses connections: bound, then closed.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const plan = planKafka({ store: 'postgres', dispatch: 'kafka', kafkaBrokers: `127.0.0.1:${port}` }, { connectTimeoutMs: 2000 });
    const store = await PostgresStore.open({ connectionString: await testDatabaseUrl(), schema: freshSchema() });
    const jobq = new Jobq({ store, handlers: { t: () => {} }, dispatch: plan.dispatch! });
    const t0 = Date.now();
    try {
      const err = await jobq.start().then(
        () => assert.fail('start() succeeded without a broker'),
        (e: unknown) => e,
      );
      const line = kafkaStartupMessage(err);
      assert.ok(line !== null, `a Kafka start-up error, got ${String(err)}`);
      assert.match(line, new RegExp(`^cannot reach Kafka at 127\\.0\\.0\\.1:${port} \\(--kafka-brokers\\): `));
      assert.ok(!line.includes('\n'), 'one line');
      assert.ok(Date.now() - t0 < 10_000, `failed within 10 s (${Date.now() - t0} ms)`);
      assert.equal(kafkaStartupMessage(new Error('other')), null);
    } finally {
      await jobq.close();
    }
  });
});
