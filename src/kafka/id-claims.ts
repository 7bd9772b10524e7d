/**
 * Claims of jobs named by broker records, shared by both Kafka dispatch
 * modes: one store call per batch of ids under a fresh lease token, the
 * `started` events, the give-back of a claim whose reply was lost, and the
 * choice to leave a flow-controlled queue to the store's own claims (which
 * enforce its limits cluster-wide; claims by id refuse such a queue). Only
 * while its queue is flow-controlled does it watch the store's changes, to
 * wake the loop as the store's claims would be woken.
 */
import { randomUUID } from 'node:crypto';
import type { LeasedJob } from '../contracts/job.js';
import { hasLimits, type Store } from '../contracts/store.js';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events/event-bus.js';
import { event, startedEvents, type ClaimRequest } from '../core/leases/lease-api.js';
import { ChangeWatch } from './change-watch.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a record's value can be a job id (records written by others are skipped). */
export function isJobId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** How long a queue's flow-control settings are trusted before they are read again. */
const SETTINGS_TTL_MS = 1000;

export class IdClaims {
  private lostTokens: string[] = [];
  private settingsAt = -Infinity;
  private limited = false;
  private readonly changes: ChangeWatch;

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly queue: string,
    private readonly leaseMs: number,
    /** Wakes this queue's dispatch loop. */
    wake: () => void,
  ) {
    this.changes = new ChangeWatch(store, (queues) => (!queues || queues.includes(queue)) && wake());
  }

  /** Whether the queue has flow control (then the store's claims serve it). */
  async queueLimited(): Promise<boolean> {
    const now = this.clock.now();
    if (now - this.settingsAt < SETTINGS_TTL_MS) return this.limited;
    this.settingsAt = now;
    this.limited = hasLimits(await this.store.queueSettings(this.queue));
    this.changes.set(this.limited);
    return this.limited;
  }

  /** Stops watching the store (the dispatcher stops). */
  close(): void {
    this.changes.set(false);
  }

  /** Leases those of `ids` that may run now; throws (ids untouched) when the store fails. */
  async claim(ids: readonly string[], req: ClaimRequest): Promise<LeasedJob[]> {
    if (this.lostTokens.length > 0) await this.releaseLost();
    if (ids.length === 0) return [];
    const now = this.clock.now();
    const leaseToken = randomUUID();
    let jobs: LeasedJob[];
    try {
      jobs = await this.store.jobClaimByIds!({ queue: this.queue, ids, types: req.types ?? null, now, leaseMs: req.leaseMs ?? this.leaseMs, leaseToken });
    } catch (err) {
      // The claim may have committed with its reply lost: what it took goes back before the next claim.
      this.lostTokens.push(leaseToken);
      throw err;
    }
    if (jobs.length > 0 && this.events.wanted) this.events.emit(startedEvents(jobs, now));
    return jobs;
  }

  private async releaseLost(): Promise<void> {
    for (const leaseToken of [...this.lostTokens]) {
      const now = this.clock.now();
      const released = await this.store.jobReleaseClaim({ leaseToken, now });
      this.lostTokens = this.lostTokens.filter((t) => t !== leaseToken);
      if (released.length > 0) this.events.emit(released.map((r) => event('released', r, 'pending', now)));
    }
  }
}
