/**
 * One consumer-group member on one topic, kept alive through broker
 * outages. @platformatic/kafka 1.35.0 facts this is built on (measured here,
 * .tmp/kafka-notes.md §2 and §4):
 * - classic protocol: 'consumer:group:join' carries the whole new assignment
 *   and fires before any record of a new partition; records of a revoked
 *   partition may still come out of the stream's buffer (up to its
 *   highWaterMark, longer while paused). Such a stale record of a partition
 *   that has since come back to this member would start its reading past
 *   the committed offset, and the records in between would never run (the
 *   CI failure of 2026-11-28: 166 jobs left pending). Every record carries
 *   the generation it was pushed in; one older than its partition's current
 *   ownership is dropped here;
 * - a broker restart ends the stream with 'error' then 'close' while the
 *   Consumer object stays usable: consume() again;
 * - with infinite client retries the stream stalled for good after a broker
 *   restart in 4 of 7 runs, so retries stay finite and a watchdog recreates
 *   a stream that has been assigned partitions but not fetched for a while.
 */
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, stringDeserializers, type ConsumerGroupJoinPayload, type Message, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { brokersOf, rootCause } from './topics.js';

export type KafkaMessage = Message<string, string, string, string>;

export interface GroupConsumerOptions {
  brokers: readonly string[];
  clientId: string;
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  logger: Logger;
  /** Records the stream buffers ahead of the caller. @defaultValue 1024 */
  highWaterMark?: number;
  /** How long an empty fetch waits on the broker. @defaultValue 500 */
  maxWaitMs?: number;
}

export interface GroupConsumerEvents {
  /** The whole assignment after a rebalance (classic protocol: every member gets one). */
  assigned(partitions: number[]): void;
  /** A record of a partition this member owns, pushed since it took the partition. */
  record(m: KafkaMessage): void;
}

/** A stream assigned partitions that has not completed a fetch for this long is recreated. */
const STALL_MS = 20_000;
const RECONNECT_MS = 1000;

export class GroupConsumer {
  private readonly consumer: Consumer<string, string, string, string>;
  private stream: MessagesStream<string, string, string, string> | null = null;
  private stopped = false;
  private paused = false;
  private lastFetch = Date.now();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private outage = false;
  /** Per owned partition, the generation in which this member took it. */
  private ownedSince = new Map<number, number>();

  constructor(
    private readonly o: GroupConsumerOptions,
    private readonly on: GroupConsumerEvents,
  ) {
    this.consumer = new Consumer({
      clientId: o.clientId,
      groupId: o.groupId,
      bootstrapBrokers: brokersOf(o.brokers),
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(o.sessionTimeoutMs, 10_000),
      maxWaitTime: o.maxWaitMs ?? 500,
      highWaterMark: o.highWaterMark ?? 1024,
      retries: 3,
      retryDelay: 500,
    });
    this.consumer.on('consumer:group:join', (p: ConsumerGroupJoinPayload) => {
      const mine = (p.assignments ?? []).filter((a) => a.topic === o.topic).flatMap((a) => a.partitions);
      this.ownedSince = ownership(this.ownedSince, mine, p.generationId ?? 0);
      this.on.assigned(mine);
    });
    // Heartbeat failures repeat every second during an outage: one line per outage.
    this.consumer.on('consumer:heartbeat:error', (p: { error: Error }) => this.warnOutage(p.error));
  }

  /** Joins the group; rejects if the brokers cannot be reached now. */
  async start(): Promise<void> {
    await this.open();
    this.watchdog = setInterval(() => this.checkStall(), 5000);
    this.watchdog.unref();
  }

  private async open(): Promise<void> {
    const stream = await this.consumer.consume({
      topics: [this.o.topic],
      mode: MessagesStreamModes.COMMITTED,
      // A new group reads the topic from its start: a job published before the first worker joined still runs.
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    });
    if (this.stopped) {
      await stream.close().catch(() => {});
      return;
    }
    this.stream = stream;
    this.lastFetch = Date.now();
    if (this.outage) this.o.logger.warn({ group: this.o.groupId }, 'Kafka consumer reconnected');
    this.outage = false;
    stream.on('data', (m: KafkaMessage) => {
      if (isCurrent(this.ownedSince, m)) this.on.record(m);
    });
    stream.on('fetch', () => (this.lastFetch = Date.now()));
    stream.on('error', (err: Error) => this.warnOutage(err));
    stream.on('close', () => {
      if (this.stream === stream) this.stream = null;
      this.scheduleReconnect();
    });
    if (this.paused) stream.pause();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped || this.stream) return;
      this.open().catch((err: unknown) => {
        this.warnOutage(err);
        this.scheduleReconnect();
      });
    }, RECONNECT_MS);
  }

  private checkStall(): void {
    const s = this.stream;
    if (!s || this.paused || this.stopped) return;
    const assigned = (this.consumer.assignments ?? []).some((a) => a.partitions.length > 0);
    if (assigned && Date.now() - this.lastFetch > STALL_MS) {
      this.o.logger.warn({ group: this.o.groupId }, `no fetch completed for ${STALL_MS} ms; recreating the Kafka stream`);
      this.stream = null;
      void s.close().catch(() => {});
      this.scheduleReconnect();
    }
  }

  private warnOutage(err: unknown): void {
    if (this.stopped || this.outage) return;
    this.outage = true;
    this.o.logger.warn({ group: this.o.groupId, err: rootCause(err) }, 'Kafka unreachable; retrying (jobs stay safe in the store)');
  }

  /** The member's state, for diagnosis. */
  inspect(): Record<string, unknown> {
    return { paused: this.paused, streamOpen: this.stream !== null, msSinceFetch: Date.now() - this.lastFetch, outage: this.outage, ownedSince: Object.fromEntries(this.ownedSince) };
  }

  /** Stops fetching (records buffered ahead stay buffered). */
  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }

  async commit(offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (offsets.size === 0) return;
    await this.consumer.commit({ offsets: [...offsets].map(([partition, offset]) => ({ topic: this.o.topic, partition, offset, leaderEpoch: -1 })) });
  }

  /** Leaves the group (others take the partitions at their next heartbeat). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    await this.stream?.close().catch(() => {});
    // close(true) closes the streams first, then leaves the group (3 to 14 ms measured).
    await new Promise<void>((resolve) => this.consumer.close(true, () => resolve()));
  }
}

/** The owned partitions after a join: a retained one keeps its generation, a new one gets this one. */
export function ownership(before: ReadonlyMap<number, number>, partitions: readonly number[], generation: number): Map<number, number> {
  // A generation below the last one means the group was created anew: every partition starts over.
  const restarted = [...before.values()].some((g) => g > generation);
  return new Map(partitions.map((p) => [p, restarted ? generation : (before.get(p) ?? generation)]));
}

/** Whether a record belongs to its partition's current ownership (not a leftover of an earlier one). */
export function isCurrent(ownedSince: ReadonlyMap<number, number>, m: Pick<KafkaMessage, 'partition' | 'metadata'>): boolean {
  const since = ownedSince.get(m.partition);
  if (since === undefined) return false;
  const pushedIn = (m.metadata?.consumer as { generationId?: unknown } | undefined)?.generationId;
  return typeof pushedIn !== 'number' || pushedIn >= since;
}
