/** In-process jobq nodes on Postgres with Kafka dispatch, for the Kafka tests. */
import { Jobq } from '../../src/core/jobq.js';
import type { HandlerMap } from '../../src/core/handler.js';
import type { JobqOptions } from '../../src/core/options.js';
import { kafkaDispatch } from '../../src/kafka/dispatch.js';
import type { KafkaOptions } from '../../src/kafka/options.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';

/** Fast timings for tests: short leases, quick rescues, quick retries. */
export const FAST: Partial<JobqOptions> = {
  leaseMs: 2000,
  heartbeatIntervalMs: 500,
  pollIntervalMs: 200,
  rescueIntervalMs: 500,
  nodeHeartbeatMs: 500,
  retry: { baseDelayMs: 200, factor: 1, maxDelayMs: 200, jitter: 0 },
  shutdownTimeoutMs: 2000,
};

export interface KafkaNodeOptions {
  url: string;
  schema: string;
  brokers: string;
  handlers?: HandlerMap;
  concurrency?: number;
  /** Kafka settings beyond the brokers. */
  kafka?: Partial<KafkaOptions>;
  jobq?: Partial<JobqOptions>;
}

export async function kafkaNode(o: KafkaNodeOptions): Promise<Jobq> {
  const store = await PostgresStore.open({ connectionString: o.url, schema: o.schema });
  const jobq = new Jobq({
    store,
    handlers: o.handlers ?? {},
    queues: o.handlers ? { default: { concurrency: o.concurrency ?? 10 } } : {},
    dispatch: kafkaDispatch({ brokers: [o.brokers], partitions: 6, ...o.kafka }),
    ...FAST,
    ...o.jobq,
  });
  await jobq.start();
  return jobq;
}
