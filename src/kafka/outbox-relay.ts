/**
 * Publishes the transactional outbox: entries (written by triggers in the
 * transaction that made each job pending) are sent to their queue's topic,
 * then deleted. It also promotes due scheduled jobs of every queue on time,
 * which writes their entries, so delays, retries and rescues reach the
 * workers when due. One node runs it at a time (a leadership that dies with
 * its holder's connection), and only that node listens for the store's
 * change notifications: each one costs Postgres work per listening connection.
 *
 * A batch's entries are deleted by the read of the next batch (one round
 * trip per batch), or when the relay stops or loses the leadership. Until
 * then a crash, or a new leader, publishes them again: duplicate records,
 * which the claim by id skips. A broker that is down only delays
 * publication: entries wait in Postgres, enqueues keep succeeding.
 */
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { OutboxEntry, Store } from '../contracts/store.js';
import type { Clock } from '../core/clock.js';
import { Leadership } from '../core/services/leadership.js';
import type { ResolvedKafkaOptions } from './options.js';
import { ChangeWatch } from './change-watch.js';
import { PartitionRuns } from './partition-runs.js';
import { brokersOf, queueTopic, rootCause, type TopicAdmin } from './topics.js';

export interface OutboxRelayDeps {
  store: Store;
  admin: TopicAdmin;
  options: ResolvedKafkaOptions;
  prefix: string;
  clock: Clock;
  logger: Logger;
  nodeId: string;
}

const QUEUE_NAMES_TTL_MS = 5000;
const MAX_BACKOFF_MS = 5000;

export class OutboxRelay {
  private readonly producer: Producer<string, string, string, string>;
  private readonly leadership: Leadership;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** While leader: inserts NOTIFY the store's channel, and the leader publishes at once instead of at its next poll. */
  private readonly changes: ChangeWatch;
  private queues: string[] = [];
  private queuesAt = -Infinity;
  private failing = false;
  /** When the earliest scheduled job falls due (as last looked up), and when that was. */
  private nextDueAt = -Infinity;
  private dueCheckedAt = -Infinity;
  /** Entries published in this process's lifetime (tests and the bench read it). */
  published = 0;
  private readonly runs = new PartitionRuns();
  /** Seqs of the entries last sent, deleted by the next read. */
  private sent: number[] = [];

  constructor(private readonly d: OutboxRelayDeps) {
    this.producer = new Producer({
      clientId: `${d.options.clientId}-relay`,
      bootstrapBrokers: brokersOf(d.options.brokers),
      serializers: stringSerializers,
      // Every replica must have it before the entry is deleted.
      acks: ProduceAcks.ALL,
      retries: 3,
      retryDelay: 250,
    });
    this.leadership = new Leadership({ store: d.store, clock: d.clock, logger: d.logger, nodeId: d.nodeId, name: 'kafka-relay', intervalMs: 1000 });
    this.changes = new ChangeWatch(d.store, () => this.wake());
    this.leadership.onChange((leader) => {
      this.changes.set(leader && !this.stopped);
      if (leader) this.wake();
    });
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.leadership.start();
    this.loop = this.run();
  }

  /** Work may be waiting (an enqueue here, a NOTIFY from elsewhere). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.stopped) {
      let busy = false;
      let sleepMs = this.d.options.relayPollMs;
      if (this.leadership.isLeader) {
        try {
          const promoted = await this.promoteIfDue();
          busy = (await this.publishBatch()) === this.d.options.relayBatchSize || promoted > 0;
          sleepMs = Math.max(5, Math.min(sleepMs, this.nextDueAt - this.d.clock.now()));
          if (this.failing) this.d.logger.warn('Kafka relay publishing again');
          this.failing = false;
          backoff = 0;
        } catch (err) {
          if (!this.failing) this.d.logger.warn({ err: rootCause(err) }, 'Kafka relay cannot publish; entries wait in the outbox and are retried');
          this.failing = true;
          backoff = Math.min(MAX_BACKOFF_MS, Math.max(250, backoff * 2));
          sleepMs = backoff;
        }
      } else await this.deleteSent();
      if (!busy) await this.sleep(sleepMs);
    }
    await this.deleteSent();
  }

  /** Deletes what was sent without waiting for the next read (stopping, or no longer the leader): one try. */
  private async deleteSent(): Promise<void> {
    const seqs = this.sent;
    if (seqs.length === 0) return;
    this.sent = [];
    try {
      await this.d.store.outboxDelete!({ seqs });
    } catch (err) {
      // Left in the outbox: published again by the leader, and skipped by the claims then.
      this.d.logger.warn({ err: rootCause(err) }, 'Kafka relay could not delete published outbox entries');
    }
  }

  /**
   * Promotes due scheduled jobs and looks up the next due time, but only
   * when that time came or once per poll interval: under load the relay
   * wakes for every insert, and two statements per wake cost Postgres more
   * than the publishing itself (measured with npm run bench:kafka). A job
   * delayed by less than relayPollMs may so start up to that much late.
   */
  private async promoteIfDue(): Promise<number> {
    const now = this.d.clock.now();
    if (now < this.nextDueAt && now - this.dueCheckedAt < this.d.options.relayPollMs) return 0;
    this.dueCheckedAt = now;
    const queues = await this.queueNames();
    const promoted = await this.d.store.jobPromoteDue!({ queues, now, limit: this.d.options.relayBatchSize });
    this.nextDueAt = promoted === this.d.options.relayBatchSize ? now : ((await this.d.store.jobNextDue!({ queues })) ?? Infinity);
    return promoted;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = this.d.clock.setTimer(done, ms);
      const self = this;
      function done() {
        timer.cancel();
        self.wakeUp = null;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async queueNames(): Promise<string[]> {
    const now = this.d.clock.now();
    if (now - this.queuesAt > QUEUE_NAMES_TTL_MS) {
      this.queues = await this.d.store.queueNames();
      this.queuesAt = now;
    }
    return this.queues;
  }

  /** One batch: read (deleting the last batch sent), send (one produce request per broker). Returns how many entries. */
  private async publishBatch(): Promise<number> {
    const entries = await this.d.store.outboxRead!({ limit: this.d.options.relayBatchSize, published: this.sent });
    // Gone with that read's commit; a read that failed may not have deleted them, so they are kept until one succeeds.
    this.sent = [];
    if (entries.length === 0) return 0;
    const topicOf = new Map<string, string>();
    for (const e of entries) if (!topicOf.has(e.queue)) topicOf.set(e.queue, queueTopic(this.d.prefix, e.queue));
    await this.d.admin.ensure([...topicOf.values()]);
    await this.producer.send({ messages: this.messages(entries, topicOf) });
    this.sent = [...new Set(entries.map((e) => e.seq))];
    this.published += entries.length;
    return entries.length;
  }

  /** The records: the job id; the ordering key as the record key (one partition per key), else a partition from `runs`. */
  private messages(entries: OutboxEntry[], topicOf: Map<string, string>) {
    const counts = new Map<string, number>();
    for (const e of entries) if (e.orderingKey === null) counts.set(e.queue, (counts.get(e.queue) ?? 0) + 1);
    // Each queue's partitions, reversed: pop() hands them out in order.
    const partitions = new Map<string, number[]>();
    for (const [queue, count] of counts) {
      const topic = topicOf.get(queue)!;
      partitions.set(queue, this.runs.assign(topic, count, this.d.admin.partitionsOf(topic)).reverse());
    }
    return entries.map((e) => {
      const topic = topicOf.get(e.queue)!;
      return e.orderingKey === null ? { topic, value: e.jobId, partition: partitions.get(e.queue)!.pop()! } : { topic, key: e.orderingKey, value: e.jobId };
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.changes.set(false);
    this.wakeUp?.();
    await this.loop;
    await this.leadership.stop();
    await this.producer.close().catch(() => {});
  }
}
