/**
 * The worker side of Kafka dispatch for one queue: a consumer-group member
 * on the queue's topic whose records (job ids) become claims by id in the
 * store, under the usual lease fence. A job that cannot be claimed (it was
 * cancelled, is already running elsewhere, is held back by an earlier job of
 * its ordering key, belongs to a paused or flow-controlled queue) is
 * skipped: every change that makes it claimable again publishes it again
 * (outbox triggers). Offsets are committed only up to the lowest record not
 * finished here, so a worker killed -9 leaves its in-flight records to be
 * read again by the next owner.
 *
 * Records with a key (the job's ordering key) run one at a time per key
 * here, in partition order; the store's fence keeps it so across nodes.
 */
import type { LeasedJob } from '../contracts/job.js';
import type { ClaimRequest } from '../core/leases/lease-api.js';
import { GroupConsumer, type KafkaMessage } from './group-consumer.js';
import { IdClaims, isJobId } from './id-claims.js';
import type { QueueSide, QueueSideDeps } from './queue-side.js';
import { BufferGate } from './buffer-gate.js';
import { PartitionTracker } from './partition-tracker.js';

interface Delivery {
  partition: number;
  offset: bigint;
  jobId: string;
  /** The job's ordering key (the record key). */
  key: string | null;
}

export class QueueDispatcher implements QueueSide {
  private readonly tracker = new PartitionTracker();
  private readonly consumer: GroupConsumer;
  /** Claimable now, in arrival order. */
  private ready: Delivery[] = [];
  /** Keys with a record claimed or running here, and the records of that key waiting behind it. */
  private readonly keyed = new Map<string, Delivery[]>();
  /** Claimed jobs and the records that carried them. */
  private readonly running = new Map<string, Delivery[]>();
  /** Records received and not finished: pauses the consumer when too many wait here. */
  private readonly buffer: BufferGate;
  private lastFallback = 0;
  private readonly claims: IdClaims;
  private commitTimer: NodeJS.Timeout | null = null;
  private claimsInFlight = 0;
  private committing: Promise<void> | null = null;

  constructor(private readonly d: QueueSideDeps) {
    this.claims = new IdClaims(d.ctx.store, d.ctx.events, d.ctx.clock, d.queue, d.ctx.leaseMs, () => d.ctx.wake([d.queue]));
    this.consumer = new GroupConsumer(
      {
        brokers: d.options.brokers,
        clientId: d.options.clientId,
        groupId: d.topic,
        topic: d.topic,
        sessionTimeoutMs: d.options.sessionTimeoutMs,
        heartbeatIntervalMs: d.options.heartbeatIntervalMs,
        logger: d.ctx.logger,
        highWaterMark: Math.max(64, d.concurrency * 4),
      },
      { assigned: (p) => this.assigned(p), record: (m) => this.received(m) },
    );
    this.buffer = new BufferGate(Math.max(256, d.concurrency * 8), Math.max(128, d.concurrency * 4), this.consumer);
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.commitTimer = setInterval(() => void this.commit(), this.d.options.commitIntervalMs);
    this.commitTimer.unref();
  }

  private assigned(partitions: number[]): void {
    const revoked = new Set(this.tracker.assign(partitions));
    if (revoked.size === 0) return;
    // Their records are the new owner's now; jobs already claimed here finish normally.
    const gone = (d: Delivery) => revoked.has(d.partition);
    const dropped = new Set(this.ready.filter(gone));
    this.ready = this.ready.filter((d) => !dropped.has(d));
    this.buffer.remove(dropped.size);
    for (const [key, line] of this.keyed) {
      // The head of a line is in `ready` (counted above if dropped) or claimed here (kept).
      const head = line[0]!;
      const kept = line.filter((d, i) => (i === 0 ? !dropped.has(d) : !gone(d)));
      this.buffer.remove(line.length - kept.length - (dropped.has(head) ? 1 : 0));
      if (kept.length === 0) this.keyed.delete(key);
      else {
        this.keyed.set(key, kept);
        if (dropped.has(head)) this.ready.push(kept[0]!);
      }
    }
  }

  private received(m: KafkaMessage): void {
    if (!this.tracker.accept(m.partition, m.offset)) return;
    if (!isJobId(m.value)) {
      // Not one of ours (someone else wrote to the topic): one bad id would fail every claim of its batch.
      this.tracker.finish(m.partition, m.offset);
      return;
    }
    const d: Delivery = { partition: m.partition, offset: m.offset, jobId: m.value, key: m.key || null };
    this.buffer.add();
    if (d.key !== null) {
      const line = this.keyed.get(d.key);
      if (line) {
        line.push(d);
        return;
      }
      this.keyed.set(d.key, [d]);
    }
    this.ready.push(d);
    if (this.ready.length === 1) this.d.ctx.wake([this.d.queue]);
  }

  /** The dispatch loop's claim: jobs of buffered records, else (now and then) straight from the store. */
  async claim(req: ClaimRequest): Promise<LeasedJob[]> {
    if (await this.claims.queueLimited()) {
      // The claims by id refuse a limited queue anyway: let the records go.
      for (const d of this.ready.splice(0)) this.finish(d);
      return this.d.ctx.storeSource.claim(req);
    }
    // Until the slots are full or the buffer is empty: a claim that came back short while records
    // still waited here would leave the loop idle until its poll (nothing else wakes it then).
    let jobs: LeasedJob[] = [];
    while (jobs.length < req.max && this.ready.length > 0) {
      const batch = this.ready.splice(0, req.max - jobs.length);
      let got: LeasedJob[];
      this.claimsInFlight++;
      try {
        got = await this.claims.claim(batch.map((d) => d.jobId), req);
      } catch (err) {
        this.ready.unshift(...batch);
        if (jobs.length > 0) break; // hand over what this call already leased; the next claim retries
        throw err;
      } finally {
        this.claimsInFlight--;
      }
      const claimed = new Set(got.map((j) => j.id));
      for (const d of batch) {
        if (!claimed.has(d.jobId)) this.finish(d);
        else (this.running.get(d.jobId) ?? this.running.set(d.jobId, []).get(d.jobId)!).push(d);
      }
      jobs = jobs.concat(got);
    }
    const room = req.max - jobs.length;
    if (room > 0 && this.ready.length === 0 && this.d.ctx.clock.now() - this.lastFallback >= this.d.options.fallbackClaimMs) {
      this.lastFallback = this.d.ctx.clock.now();
      jobs = [...jobs, ...(await this.d.ctx.storeSource.claim({ ...req, max: room }))];
    }
    return jobs;
  }

  /** The pool is done with a job: its records are finished. */
  done(job: LeasedJob): void {
    const list = this.running.get(job.id);
    if (!list) return;
    this.running.delete(job.id);
    for (const d of list) this.finish(d);
  }

  private finish(d: Delivery): void {
    this.tracker.finish(d.partition, d.offset);
    this.buffer.remove();
    if (d.key !== null) {
      const line = this.keyed.get(d.key);
      if (line && line[0] === d) {
        line.shift();
        const next = line[0];
        if (next) {
          this.ready.push(next);
          this.d.ctx.wake([this.d.queue]);
        } else this.keyed.delete(d.key);
      }
    }
  }

  private commit(): Promise<void> {
    this.committing ??= (async () => {
      const offsets = this.tracker.committable();
      try {
        await this.consumer.commit(offsets);
        this.tracker.markCommitted(offsets);
      } catch {
        // A rebalance or an outage: the next interval commits again (at-least-once either way).
      } finally {
        this.committing = null;
      }
    })();
    return this.committing;
  }

  inspect(): Record<string, unknown> {
    let waiting = 0;
    for (const line of this.keyed.values()) waiting += line.length - 1;
    return {
      ready: this.ready.length,
      waitingBehindKeys: waiting,
      running: this.running.size,
      buffered: this.buffer.size,
      claimsInFlight: this.claimsInFlight,
      partitions: this.tracker.inspect(),
      consumer: this.consumer.inspect(),
    };
  }

  /** After the pool drained: the last commit, then leave the group. */
  async stop(): Promise<void> {
    this.claims.close();
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    await this.committing;
    await this.commit();
    await this.consumer.stop();
  }
}
