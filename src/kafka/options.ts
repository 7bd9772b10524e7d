/**
 * Settings of Kafka dispatch, ingest and the event feed, with their defaults
 * in one frozen object and one resolve function that names the bad field.
 * Broker timings are chosen from measurements on this project's machine
 * (.tmp/kafka-notes.md): a 6 s session (the broker's minimum) notices a
 * killed worker in 6 to 7 s; 1 s heartbeats let a joining worker take its
 * share in about 0.5 s.
 */
import { JobqError } from '../contracts/errors.js';

export interface KafkaOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** @defaultValue 'jobq' */
  clientId?: string;
  /** Topic (and consumer group) names start with this; one topic per queue. @defaultValue 'jobq.<schema>.' for a Postgres store, else 'jobq.' */
  topicPrefix?: string;
  /** Partitions of each queue topic jobq creates: the most workers one queue can spread over. @defaultValue 12 */
  partitions?: number;
  /** Replication factor of the topics jobq creates. @defaultValue 1 */
  replicas?: number;
  /** How long a silent worker keeps its partitions (the broker allows 6000 and up). @defaultValue 6000 */
  sessionTimeoutMs?: number;
  /** @defaultValue 1000 */
  heartbeatIntervalMs?: number;
  /** How often finished records' offsets are committed. @defaultValue 200 */
  commitIntervalMs?: number;
  /** Outbox entries published per batch. @defaultValue 1000 */
  relayBatchSize?: number;
  /** The relay's look at the outbox and at due scheduled jobs when no wake-up came. @defaultValue 250 */
  relayPollMs?: number;
  /**
   * While a worker's buffer is empty, it also claims from the store this
   * often: jobs left pending without a record on their way (a paused queue
   * resumed, a flow-control hold ended, a node without the job's handler
   * skipped it) still run. @defaultValue 5000
   */
  fallbackClaimMs?: number;
  /** Brokers must answer within this at start, or start fails. @defaultValue 5000 */
  connectTimeoutMs?: number;
}

export interface ResolvedKafkaOptions extends Required<Omit<KafkaOptions, 'topicPrefix'>> {
  topicPrefix: string | null;
}

export const KAFKA_DEFAULTS = Object.freeze({
  clientId: 'jobq',
  partitions: 12,
  replicas: 1,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 1000,
  commitIntervalMs: 200,
  relayBatchSize: 1000,
  relayPollMs: 250,
  fallbackClaimMs: 5000,
  connectTimeoutMs: 5000,
});

const BROKER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
/** Kafka's rule for topic names (without the length limit, checked per topic). */
export const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

function invalid(field: string, message: string): JobqError {
  return new JobqError('invalid_option', `kafka.${field} ${message}`, { details: { field: `kafka.${field}` } });
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveKafkaOptions(o: KafkaOptions): ResolvedKafkaOptions {
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) throw invalid('brokers', 'must name at least one broker as host:port');
  for (const b of o.brokers) if (typeof b !== 'string' || !BROKER.test(b)) throw invalid('brokers', `has "${String(b)}", which is not host:port`);
  if (o.topicPrefix !== undefined && !/^[A-Za-z0-9._-]{0,200}$/.test(o.topicPrefix)) throw invalid('topicPrefix', 'may hold only letters, digits, ".", "_" and "-"');
  const d = KAFKA_DEFAULTS;
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', o.heartbeatIntervalMs ?? d.heartbeatIntervalMs);
  const sessionTimeoutMs = positive('sessionTimeoutMs', o.sessionTimeoutMs ?? d.sessionTimeoutMs);
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw invalid('heartbeatIntervalMs', `(${heartbeatIntervalMs}) must be less than sessionTimeoutMs (${sessionTimeoutMs})`);
  return {
    brokers: [...o.brokers],
    clientId: o.clientId ?? d.clientId,
    topicPrefix: o.topicPrefix ?? null,
    partitions: positive('partitions', o.partitions ?? d.partitions),
    replicas: positive('replicas', o.replicas ?? d.replicas),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    commitIntervalMs: positive('commitIntervalMs', o.commitIntervalMs ?? d.commitIntervalMs),
    relayBatchSize: positive('relayBatchSize', o.relayBatchSize ?? d.relayBatchSize),
    relayPollMs: positive('relayPollMs', o.relayPollMs ?? d.relayPollMs),
    fallbackClaimMs: positive('fallbackClaimMs', o.fallbackClaimMs ?? d.fallbackClaimMs),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs ?? d.connectTimeoutMs),
  };
}

/** The prefix in force: the given one, else one per Postgres schema so two deployments on one broker never share topics. */
export function topicPrefixFor(o: ResolvedKafkaOptions, store: object): string {
  if (o.topicPrefix !== null) return o.topicPrefix;
  const schema = (store as { schema?: unknown }).schema;
  return typeof schema === 'string' ? `jobq.${schema}.` : 'jobq.';
}
