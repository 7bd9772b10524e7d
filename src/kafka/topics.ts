/**
 * Topic names and topic administration. A queue's jobs travel on
 * `<prefix><queue>`; queue names allow ':' and Kafka's do not, so ':' is
 * written as '.' (queues "a:b" and "a.b" would share a topic: harmless, a
 * record only names a job id, and claims check the job's own queue).
 */
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes, type Broker } from '@platformatic/kafka';
import { JobqError } from '../contracts/errors.js';
import { TOPIC_PATTERN } from './options.js';

export function queueTopic(prefix: string, queue: string): string {
  const topic = `${prefix}${queue.replaceAll(':', '.')}`;
  if (!TOPIC_PATTERN.test(topic)) throw new JobqError('invalid_option', `queue "${queue}" makes the topic name "${topic}", which Kafka refuses (at most 249 of [A-Za-z0-9._-])`);
  return topic;
}

/** Brokers could not be reached when starting: the message names the setting to fix. */
export class KafkaUnreachableError extends Error {
  override readonly name = 'KafkaUnreachableError';
}

export function brokersOf(list: readonly string[]): Broker[] {
  return list.map((b) => {
    const i = b.lastIndexOf(':');
    return { host: b.slice(0, i), port: Number(b.slice(i + 1)) };
  });
}

/** Creates topics that do not exist yet (once per process per topic), knows their partition counts, and answers whether the brokers are there. */
export class TopicAdmin {
  private readonly admin: Admin;
  /** Topics known to exist, with their partition counts. */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly brokers: readonly string[],
    clientId: string,
    private readonly partitions: number,
    private readonly replicas: number,
    timeoutMs: number,
  ) {
    this.admin = new Admin({ clientId: `${clientId}-admin`, bootstrapBrokers: brokersOf(brokers), retries: 1, retryDelay: 200, timeout: timeoutMs, connectTimeout: timeoutMs });
  }

  /** Resolves once a broker answered a metadata request; rejects with a one-line KafkaUnreachableError otherwise. */
  async check(flag = '--kafka-brokers'): Promise<void> {
    try {
      await this.admin.metadata({ topics: [] });
    } catch (err) {
      throw new KafkaUnreachableError(`cannot reach Kafka at ${this.brokers.join(',')} (${flag}): ${rootCause(err)}`);
    }
  }

  async ensure(topics: readonly string[]): Promise<void> {
    const missing = topics.filter((t) => !this.known.has(t));
    if (missing.length === 0) return;
    const existing = new Set((await this.admin.listTopics()).filter((t) => missing.includes(t)));
    const create = missing.filter((t) => !existing.has(t));
    let createdHere = create;
    if (create.length > 0) {
      try {
        await this.admin.createTopics({ topics: create, partitions: this.partitions, replicas: this.replicas });
      } catch (err) {
        // Another node created it first (apiCode 36, TOPIC_ALREADY_EXISTS): fine.
        if (!/already exists/i.test(describeAll(err))) throw err;
        createdHere = [];
      }
    }
    // A topic made elsewhere (by another node, or by hand) may have another partition count.
    const elsewhere = missing.filter((t) => !createdHere.includes(t));
    const metadata = elsewhere.length > 0 ? await this.admin.metadata({ topics: elsewhere }) : null;
    for (const t of missing) this.known.set(t, metadata?.topics.get(t)?.partitionsCount ?? this.partitions);
  }

  /** The partition count of a topic `ensure` saw (as of then: partitions added later stay unused until a restart). */
  partitionsOf(topic: string): number {
    return this.known.get(topic) ?? this.partitions;
  }

  /**
   * Share groups start at "latest" (0 of 100 records produced before the
   * group existed were delivered, measured); jobs published before the
   * first worker joined must still run. Settable before the group exists.
   */
  async shareGroupFromEarliest(groupId: string): Promise<void> {
    await this.admin.incrementalAlterConfigs({
      resources: [{ resourceType: ConfigResourceTypes.GROUP, resourceName: groupId, configs: [{ name: 'share.auto.offset.reset', configOperation: IncrementalAlterConfigOperationTypes.SET, value: 'earliest' }] }],
    });
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}

/** The innermost message of a client error (they nest: MultipleErrors → NetworkError → ECONNREFUSED). */
export function rootCause(err: unknown): string {
  let e = err as { errors?: unknown[]; cause?: unknown; message?: string; code?: string } | undefined;
  for (let depth = 0; depth < 8 && e; depth++) {
    const next = (e.errors?.[0] ?? e.cause) as typeof e;
    if (!next) break;
    e = next;
  }
  return (e?.code && !e.message?.includes(e.code) ? `${e.code} ` : '') + (e?.message ?? String(err));
}

function describeAll(err: unknown): string {
  const e = err as { errors?: unknown[]; message?: string };
  return [e?.message ?? '', ...(e?.errors ?? []).map(describeAll)].join(' ');
}
