/**
 * `kafkaDispatch()`: the Dispatch a Jobq takes in its `dispatch` option.
 * Postgres stays the source of truth; Kafka carries job ids. On start it
 * checks the brokers (one line naming --kafka-brokers if they cannot be
 * reached), turns the outbox on for the schema, creates the topics of the
 * queues this node works, joins one consumer group per queue, and competes
 * for the relay's leadership (API-only nodes too: any node may publish).
 */
import { JobqError } from '../contracts/errors.js';
import type { ClaimSource, Dispatch, DispatchContext, DispatchFactory } from '../core/worker/claim-source.js';
import { resolveKafkaOptions, topicPrefixFor, type KafkaOptions } from './options.js';
import { OutboxRelay } from './outbox-relay.js';
import { QueueDispatcher } from './queue-dispatcher.js';
import type { QueueSide, QueueSideDeps } from './queue-side.js';
import { queueTopic, TopicAdmin } from './topics.js';

/** The relay of this process (tests and the bench look at it). */
export interface KafkaDispatch extends Dispatch {
  readonly relay: OutboxRelay;
  /** Per queue, what its consumer holds now; and the relay's leadership and count (for diagnosis). */
  inspect(): Record<string, unknown>;
}

export type { QueueSide, QueueSideDeps } from './queue-side.js';

export function kafkaDispatch(options: KafkaOptions & { flag?: string }): DispatchFactory {
  return brokerDispatch(options, (d) => new QueueDispatcher(d));
}

/** Outbox, relay, topics and one QueueSide per queue: what both dispatch modes share. */
export function brokerDispatch(options: KafkaOptions & { flag?: string }, side: (d: QueueSideDeps) => QueueSide): DispatchFactory {
  const o = resolveKafkaOptions(options);
  return (ctx: DispatchContext): KafkaDispatch => {
    const { store } = ctx;
    for (const m of ['jobClaimByIds', 'outboxEnable', 'outboxRead', 'outboxDelete', 'jobPromoteDue', 'jobNextDue'] as const) {
      if (typeof store[m] !== 'function') throw new JobqError('invalid_option', 'Kafka dispatch needs the Postgres store (its outbox and claims by id)', { details: { field: 'dispatch' } });
    }
    const prefix = topicPrefixFor(o, store);
    const admin = new TopicAdmin(o.brokers, o.clientId, o.partitions, o.replicas, o.connectTimeoutMs);
    const relay = new OutboxRelay({ store, admin, options: o, prefix, clock: ctx.clock, logger: ctx.logger, nodeId: ctx.nodeId });
    const sides = new Map<string, QueueSide>();
    for (const [queue, q] of Object.entries(ctx.queues)) sides.set(queue, side({ queue, topic: queueTopic(prefix, queue), concurrency: q.concurrency, options: o, admin, ctx }));
    const source: ClaimSource = {
      claim: (req) => sides.get(req.queue)?.claim(req) ?? ctx.storeSource.claim(req),
      // Due jobs are promoted and published by the relay; the loops need no due timer.
      nextRunAt: () => Promise.resolve(null),
      done: (job) => sides.get(job.queue)?.done(job),
    };
    const running: { stop(): Promise<void> }[] = [];
    let stopping: Promise<void> | null = null;
    return {
      source,
      // Records wake the loops. Store changes matter only to the relay's leader and to flow-controlled queues (id-claims.ts).
      watchesChanges: true,
      relay,
      inspect: () => ({ relay: { leader: relay.isLeader, published: relay.published }, queues: Object.fromEntries([...sides].map(([q, s]) => [q, s.inspect()])) }),
      async start() {
        await admin.check(options.flag);
        await store.outboxEnable!();
        await admin.ensure([...sides.keys()].map((q) => queueTopic(prefix, q)));
        for (const s of sides.values()) {
          await s.start();
          running.push(s);
        }
        relay.start();
        running.push(relay);
      },
      stop() {
        stopping ??= (async () => {
          // Consumers first (their last offsets or acknowledgements), then the relay; a half-done start stops what it started.
          await Promise.all(running.filter((r) => r !== relay).map((r) => r.stop()));
          if (running.includes(relay)) await relay.stop();
          await admin.close().catch(() => {});
        })();
        return stopping;
      },
    };
  };
}
