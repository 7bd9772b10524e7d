/**
 * Topic ingest and the event feed, started beside a Jobq (they use its
 * public parts: the store, the options, the event bus). Independent of the
 * dispatch mode: a node may ingest a topic into a queue dispatched by the
 * store's claims, or publish events without Kafka dispatch.
 */
import pino, { type Logger } from 'pino';
import type { Jobq } from '../core/jobq.js';
import { EventFeed } from './event-feed.js';
import { TopicIngest, type IngestRule } from './ingest.js';
import { resolveKafkaOptions, topicPrefixFor, type KafkaOptions } from './options.js';
import { TopicAdmin } from './topics.js';

export interface KafkaExtrasOptions extends KafkaOptions {
  /** Topics whose records become jobs. */
  ingest?: readonly IngestRule[];
  /** Publish this node's job events here. */
  eventsTopic?: string;
  logger?: Logger;
  /** Names the setting in the unreachable-broker message. @defaultValue '--kafka-brokers' */
  flag?: string;
}

export interface KafkaExtras {
  readonly ingests: readonly TopicIngest[];
  readonly feed: EventFeed | null;
  stop(): Promise<void>;
}

export async function startKafkaExtras(jobq: Jobq, options: KafkaExtrasOptions): Promise<KafkaExtras> {
  const o = resolveKafkaOptions(options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const admin = new TopicAdmin(o.brokers, o.clientId, o.partitions, o.replicas, o.connectTimeoutMs);
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
    await admin.close().catch(() => {});
  };
  try {
    await admin.check(options.flag);
    const ingests = (options.ingest ?? []).map((rule) => new TopicIngest(jobq, rule, o, admin, logger, topicPrefixFor(o, jobq.store)));
    for (const i of ingests) {
      await i.start();
      started.push(i);
    }
    const feed = options.eventsTopic ? new EventFeed(jobq, options.eventsTopic, o, admin, logger) : null;
    if (feed) {
      await feed.start();
      started.push(feed);
    }
    return { ingests, feed, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
