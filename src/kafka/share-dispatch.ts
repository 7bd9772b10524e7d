/**
 * `--dispatch kafka-share`: Kafka share groups (KIP-932, on by default in
 * Kafka 4.2 brokers) through @kafkats/client 0.12.0, the one Node client
 * that consumes them. Records are acquired one by one under a broker lock
 * instead of partitions being owned, so any number of workers share a queue
 * (not bounded by partitions) and there are no offsets to commit: a record
 * is acknowledged when its job was skipped or finished here, released when
 * this worker stops before claiming it, and redelivered by the broker when
 * its holder dies (after the lock expires). The outbox, the relay, the
 * claims by id and their fence are the same as with consumer groups.
 *
 * Ordering keys are kept by the store's fence alone here (records of a key
 * may reach different workers): a job whose predecessor is unfinished is
 * skipped and published again when the predecessor ends.
 */
import { KafkaClient, type ShareConsumer, type ShareMessage } from '@kafkats/client';
import type { LeasedJob } from '../contracts/job.js';
import type { ClaimRequest } from '../core/leases/lease-api.js';
import type { DispatchFactory } from '../core/worker/claim-source.js';
import { brokerDispatch, type QueueSide, type QueueSideDeps } from './dispatch.js';
import { IdClaims } from './id-claims.js';
import type { KafkaOptions } from './options.js';
import { rootCause } from './topics.js';

type Verdict = 'ack' | 'release';

interface Held {
  jobId: string;
  settle(v: Verdict): void;
}

class ShareQueueDispatcher implements QueueSide {
  private readonly client: KafkaClient;
  private consumer: ShareConsumer | null = null;
  private run: Promise<void> | null = null;
  private ready: Held[] = [];
  private readonly running = new Map<string, Held[]>();
  private readonly claims: IdClaims;
  private lastFallback = 0;
  private stopped = false;

  constructor(private readonly d: QueueSideDeps) {
    this.claims = new IdClaims(d.ctx.store, d.ctx.events, d.ctx.clock, d.queue, d.ctx.leaseMs);
    this.client = new KafkaClient({ clientId: `${d.options.clientId}-share`, brokers: [...d.options.brokers], logLevel: 'error', connectionTimeoutMs: d.options.connectTimeoutMs });
  }

  async start(): Promise<void> {
    const groupId = `${this.d.topic}.share`;
    await this.d.admin.shareGroupFromEarliest(groupId);
    // Required before runEach(): without it the first fetch throws 'No brokers available'.
    await this.client.connect();
    this.consumer = this.client.shareConsumer({ groupId, maxWaitMs: 500, maxRecords: Math.max(10, this.d.concurrency), acquireMode: 'record_limit' });
    this.consumer.on('error', (err) => this.d.ctx.logger.warn({ err: rootCause(err), queue: this.d.queue }, 'Kafka share consumer error'));
    // Twice the slots: the next records wait here while jobs run, without starving other workers.
    this.run = this.consumer.runEach(this.d.topic, (m) => this.hold(m), { concurrency: this.d.concurrency * 2, idleBackoffMs: 50 });
    this.run.catch((err: unknown) => this.d.ctx.logger.error({ err: rootCause(err), queue: this.d.queue }, 'Kafka share consumer stopped'));
  }

  /** The handler runEach calls per record: resolves (and so acknowledges) once the record is done with. */
  private async hold(m: ShareMessage): Promise<void> {
    if (this.stopped) return m.release();
    // Jobs longer than the broker's acquisition lock (30 s by default) keep their record.
    const lockMs = this.consumer?.acquisitionLockTimeoutMs || 30_000;
    const renew = setInterval(() => void m.renew().catch(() => {}), Math.max(1000, lockMs / 2));
    const verdict = await new Promise<Verdict>((settle) => {
      this.ready.push({ jobId: m.value?.toString() ?? '', settle });
      if (this.ready.length === 1) this.d.ctx.wake([this.d.queue]);
    });
    clearInterval(renew);
    if (verdict === 'release') await m.release();
  }

  async claim(req: ClaimRequest): Promise<LeasedJob[]> {
    if (await this.claims.queueLimited()) {
      for (const h of this.ready.splice(0)) h.settle('ack');
      return this.d.ctx.storeSource.claim(req);
    }
    const batch = this.ready.splice(0, req.max);
    let jobs: LeasedJob[];
    try {
      jobs = await this.claims.claim(batch.map((h) => h.jobId), req);
    } catch (err) {
      this.ready.unshift(...batch);
      throw err;
    }
    const claimed = new Set(jobs.map((j) => j.id));
    for (const h of batch) {
      if (!claimed.has(h.jobId)) h.settle('ack');
      else (this.running.get(h.jobId) ?? this.running.set(h.jobId, []).get(h.jobId)!).push(h);
    }
    const room = req.max - jobs.length;
    if (room > 0 && this.ready.length === 0 && this.d.ctx.clock.now() - this.lastFallback >= this.d.options.fallbackClaimMs) {
      this.lastFallback = this.d.ctx.clock.now();
      jobs = [...jobs, ...(await this.d.ctx.storeSource.claim({ ...req, max: room }))];
    }
    return jobs;
  }

  done(job: LeasedJob): void {
    for (const h of this.running.get(job.id) ?? []) h.settle('ack');
    this.running.delete(job.id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Records not claimed yet go back to the group at once instead of after their lock.
    for (const h of this.ready.splice(0)) h.settle('release');
    for (const list of this.running.values()) for (const h of list) h.settle('ack');
    await this.consumer?.stop().catch(() => {});
    await this.run?.catch(() => {});
    await this.client.disconnect().catch(() => {});
  }
}

export function shareDispatch(options: KafkaOptions & { flag?: string }): DispatchFactory {
  return brokerDispatch(options, (d) => new ShareQueueDispatcher(d));
}
