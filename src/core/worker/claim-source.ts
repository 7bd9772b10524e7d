/**
 * Where a dispatch loop gets its jobs. Today the store (SKIP LOCKED claims on
 * Postgres, one write transaction on SQLite); a Kafka consumer group can be
 * another source with the same shape: it hands out leased jobs and says when
 * the next scheduled one falls due.
 */
import type { LeasedJob } from '../../contracts/job.js';
import type { ClaimedJobs, Store } from '../../contracts/store.js';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { ClaimRequest, LeaseApi } from '../leases/lease-api.js';

export interface ClaimSource {
  /** Leased jobs; `wakeAt` set when flow control held some back (the loop wakes then, not at the next poll); `flowControlled` on a flow-controlled queue. */
  claim(req: ClaimRequest): Promise<ClaimedJobs>;
  /** Earliest run time of a scheduled job of the queue, for the loop's wake-up timer. */
  nextRunAt(queue: string): Promise<number | null>;
  /**
   * The pool is done with a job this source handed out: its outcome was
   * written (or could not be), its lease was lost, or it was released. A
   * source that tracks deliveries (broker offsets) lets it go now.
   */
  done?(job: LeasedJob): void;
}

/** What a dispatch factory may use of the node it serves. */
export interface DispatchContext {
  store: Store;
  leases: LeaseApi;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  /** The queues this node works (empty on an API-only node) and their concurrency. */
  queues: Readonly<Record<string, { concurrency: number }>>;
  leaseMs: number;
  /** The store's own claim path, for the queues a dispatcher leaves to it. */
  storeSource: ClaimSource;
  /** Wakes the dispatch loops of these queues (work arrived). */
  wake(queues: readonly string[]): void;
}

/**
 * Replaces the store's claim path (e.g. jobq/kafka): where the loops get
 * their jobs, plus whatever must run beside them (a relay, consumers).
 * start() runs before the workers start and may refuse (a broker that cannot
 * be reached); stop() runs after they drained.
 */
export interface Dispatch {
  readonly source: ClaimSource;
  /**
   * The dispatch subscribes to the store's change notifications itself, only
   * where it needs them; jobq then does not wake every loop on each change
   * (on Postgres, each notification costs every listening connection).
   */
  readonly watchesChanges?: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type DispatchFactory = (ctx: DispatchContext) => Dispatch;

export function storeClaimSource(store: Store, leases: LeaseApi): ClaimSource {
  return {
    claim: (req) => leases.claim(req),
    nextRunAt: (queue) => store.jobNextRunAt(queue),
  };
}
