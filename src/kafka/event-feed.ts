/**
 * `--events-topic`: this node's job events (core/events/event-bus.ts) on a
 * Kafka topic for analytics, keyed by job id (one job's events stay on one
 * partition, in order), the value the event as JSON. Each node publishes the
 * transitions it made itself, so the topic holds every event of the cluster
 * once. Best effort, like the bus across processes: events are sent in
 * batches every few milliseconds; while the broker is away up to
 * `maxBuffered` wait, and beyond that the oldest are dropped (counted and
 * logged), never the node's memory or its jobs.
 */
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { JobEvent } from '../contracts/events.js';
import type { Subscription } from '../core/events/event-bus.js';
import type { Jobq } from '../core/jobq.js';
import type { ResolvedKafkaOptions } from './options.js';
import { brokersOf, rootCause, type TopicAdmin } from './topics.js';

const FLUSH_MS = 20;
const BATCH = 1000;

export class EventFeed {
  private readonly producer: Producer<string, string, string, string>;
  private buffer: JobEvent[] = [];
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private failing = false;
  /** Events sent and events dropped by this process. */
  sent = 0;
  dropped = 0;

  constructor(
    private readonly jobq: Jobq,
    private readonly topic: string,
    options: ResolvedKafkaOptions,
    private readonly admin: TopicAdmin,
    private readonly logger: Logger,
    private readonly maxBuffered = 100_000,
  ) {
    // Idempotent: the client retries a send whose answer was slow (the first sends to a topic
    // just created, a loaded broker), and without idempotence each retry wrote the batch again
    // (seen: one job's first events three times). Sends go one at a time, which idempotence
    // needs (concurrent sends were refused with OUT_OF_ORDER_SEQUENCE_NUMBER, measured). Finite
    // retries: a broker that is away fails the send, and the batch waits in the buffer.
    this.producer = new Producer({ clientId: `${options.clientId}-events`, bootstrapBrokers: brokersOf(options.brokers), serializers: stringSerializers, idempotent: true, acks: ProduceAcks.ALL, retries: 5, retryDelay: 250 });
  }

  async start(): Promise<void> {
    await this.admin.ensure([this.topic]);
    // This node's events only: every node publishes its own.
    this.sub = this.jobq.events.subscribe((e) => this.push(e), { cluster: false });
  }

  private push(e: JobEvent): void {
    this.buffer.push(e);
    this.trim();
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_MS);
  }

  private flush(): Promise<void> {
    this.sending ??= (async () => {
      try {
        while (this.buffer.length > 0) {
          // Out of the buffer while in flight, so that trimming it never touches what is being sent.
          const batch = this.buffer.splice(0, BATCH);
          try {
            await this.producer.send({ messages: batch.map((e) => ({ topic: this.topic, key: e.jobId, value: JSON.stringify(e) })) });
          } catch (err) {
            this.buffer.unshift(...batch);
            this.trim();
            throw err;
          }
          this.sent += batch.length;
        }
        if (this.failing) this.logger.warn({ topic: this.topic }, 'event feed publishing again');
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.logger.warn({ err: rootCause(err), topic: this.topic }, 'event feed cannot publish; events are buffered and retried');
        this.failing = true;
        this.timer ??= setTimeout(() => {
          this.timer = null;
          void this.flush();
        }, 1000);
      } finally {
        this.sending = null;
      }
    })();
    return this.sending;
  }

  private trim(): void {
    const over = this.buffer.length - this.maxBuffered;
    if (over <= 0) return;
    this.buffer.splice(0, over);
    this.dropped += over;
  }

  /** Sends what is buffered (waiting at most `graceMs` for a broker that is away), then closes. */
  async stop(graceMs = 2000): Promise<void> {
    this.sub?.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const last = (async () => {
      await this.sending;
      if (this.buffer.length > 0) await this.flush();
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([last, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (this.timer) clearTimeout(this.timer);
    await this.producer.close().catch(() => {});
  }
}
