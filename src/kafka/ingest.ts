/**
 * Topic ingest (`--ingest topic=type[:queue]`): every record of a user's
 * topic becomes one job, exactly once. Each partition's position lives in
 * Postgres and moves in the transaction that inserts its jobs, so a crash
 * anywhere either left the records un-ingested (they are read again) or
 * ingested with their position (a second read skips them); the consumer
 * group's Kafka offset is committed afterwards, for monitoring and to read
 * less after a restart.
 *
 * The job's payload keeps the whole record: `{ topic, partition, offset,
 * timestamp, key, headers, value }`, `value` parsed as JSON when it is JSON
 * and kept as a string otherwise (offset and timestamp as strings: they are
 * 64-bit). A record too big for a job is ingested with `value: null` and
 * `valueError` saying why, so one bad record never blocks its partition.
 */
import type { Logger } from 'pino';
import { isJobqError } from '../contracts/errors.js';
import type { NewJobRecord } from '../contracts/store.js';
import type { Jobq } from '../core/jobq.js';
import { toNewJobRecord } from '../core/enqueue-input.js';
import { GroupConsumer, type KafkaMessage } from './group-consumer.js';
import type { ResolvedKafkaOptions } from './options.js';
import { PartitionTracker } from './partition-tracker.js';
import { rootCause, type TopicAdmin } from './topics.js';

export interface IngestRule {
  topic: string;
  type: string;
  /** @defaultValue the Jobq's default queue */
  queue?: string;
}

export interface IngestPayload {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  value: unknown;
  valueError?: string;
}

const FLUSH_MS = 20;
const MAX_BATCH = 500;

export class TopicIngest {
  private readonly consumer: GroupConsumer;
  private readonly tracker = new PartitionTracker();
  private pending = new Map<number, KafkaMessage[]>();
  private pendingCount = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly consumerName: string;
  /** Records handed to the store, and jobs inserted from them, by this process (the others had been ingested before). */
  read = 0;
  inserted = 0;

  constructor(
    private readonly jobq: Jobq,
    private readonly rule: IngestRule,
    options: ResolvedKafkaOptions,
    private readonly admin: TopicAdmin,
    private readonly logger: Logger,
    groupPrefix: string,
  ) {
    if (!jobq.store.ingestRecords) throw new Error('topic ingest needs the Postgres store (its positions move in the insert transaction)');
    this.consumerName = `${groupPrefix}ingest.${rule.topic}`;
    this.consumer = new GroupConsumer(
      {
        brokers: options.brokers,
        clientId: `${options.clientId}-ingest`,
        groupId: this.consumerName,
        topic: rule.topic,
        sessionTimeoutMs: options.sessionTimeoutMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        logger,
      },
      {
        assigned: (partitions) => {
          for (const p of this.tracker.assign(partitions)) this.pending.delete(p);
          this.pendingCount = [...this.pending.values()].reduce((n, l) => n + l.length, 0);
        },
        record: (m) => this.received(m),
      },
    );
  }

  async start(): Promise<void> {
    // The topic is the user's; create it only if missing (a fresh setup), with jobq's partition count.
    await this.admin.ensure([this.rule.topic]);
    // Inserts inside a transaction skip the enqueuer, which registers queues: register this one now.
    const o = this.jobq.options;
    await this.jobq.store.queueRegister({ names: [this.rule.queue ?? o.jobDefaults.queue], maxQueues: o.limits.maxQueues, now: Date.now() });
    await this.consumer.start();
  }

  private received(m: KafkaMessage): void {
    if (!this.tracker.accept(m.partition, m.offset)) return;
    const list = this.pending.get(m.partition) ?? this.pending.set(m.partition, []).get(m.partition)!;
    list.push(m);
    if (++this.pendingCount >= MAX_BATCH) this.consumer.pause();
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_MS);
  }

  /** One transaction per partition batch; on failure the records stay and are tried again. */
  private flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.pendingCount > 0 && !this.stopped) {
          for (const [partition, list] of [...this.pending]) {
            if (list.length === 0) continue;
            const batch = list.slice(0, MAX_BATCH);
            await this.ingest(partition, batch);
            // A rebalance during the insert may have dropped this partition's list: only trim what is still ours.
            const now = this.pending.get(partition);
            if (now === list) list.splice(0, batch.length);
            this.pendingCount = [...this.pending.values()].reduce((n, l) => n + l.length, 0);
          }
        }
        this.consumer.resume();
      } catch (err) {
        this.logger.warn({ err: isJobqError(err) ? err.message : rootCause(err), topic: this.rule.topic }, 'topic ingest failed; retrying in 1 s');
        this.timer ??= setTimeout(() => {
          this.timer = null;
          void this.flush();
        }, 1000);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async ingest(partition: number, batch: KafkaMessage[]): Promise<void> {
    const now = Date.now();
    const records = batch.map((m) => ({ offset: Number(m.offset), job: this.jobFor(m, now) }));
    const result = await this.jobq.store.ingestRecords!({ consumer: this.consumerName, topic: this.rule.topic, partition, records });
    this.read += batch.length;
    this.inserted += result.inserted.length;
    for (const m of batch) this.tracker.finish(m.partition, m.offset);
    // Monitoring and a shorter re-read after a restart; Postgres holds the position that counts.
    await this.consumer.commit(new Map([[partition, BigInt(result.nextOffset)]])).catch(() => {});
  }

  private jobFor(m: KafkaMessage, now: number): NewJobRecord {
    const payload: IngestPayload = {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset.toString(),
      timestamp: m.timestamp.toString(),
      key: m.key || null,
      headers: Object.fromEntries(m.headers),
      value: parseValue(m.value),
    };
    const input = { type: this.rule.type, queue: this.rule.queue, payload };
    try {
      return toNewJobRecord(input, this.jobq.options, now);
    } catch (err) {
      if (!isJobqError(err, 'payload_too_large') && !isJobqError(err, 'invalid_request')) throw err;
      return toNewJobRecord({ ...input, payload: { ...payload, value: null, valueError: err.message } }, this.jobq.options, now);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flushing;
    await this.consumer.stop();
  }
}

function parseValue(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return text ?? null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `topic=type[:queue]`, as the CLI flag takes it. */
export function parseIngestRule(spec: string): IngestRule {
  const m = /^([A-Za-z0-9._-]{1,249})=([A-Za-z0-9][A-Za-z0-9_.:-]{0,127}?)(?::([A-Za-z0-9][A-Za-z0-9_.:-]{0,127}))?$/.exec(spec);
  if (!m) throw new Error(`--ingest "${spec}" must be topic=type or topic=type:queue`);
  return m[3] === undefined ? { topic: m[1]!, type: m[2]! } : { topic: m[1]!, type: m[2]!, queue: m[3] };
}
