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
import { brokerDispatch } from './dispatch.js';
import type { QueueSide, QueueSideDeps } from './queue-side.js';
import { IdClaims, isJobId } from './id-claims.js';
import type { KafkaOptions } from './options.js';
import { rootCause } from './topics.js';

type Verdict = 'ack' | 'release';

interface Held {
  jobId: string;
  settle(v: Verdict): void;
}

class ShareQueueDispatcher implements QueueSide {
  private client: KafkaClient | null = null;
  private consumer: ShareConsumer | null = null;
  private run: Promise<void> | null = null;
  private ready: Held[] = [];
  private readonly running = new Map<string, Held[]>();
  private readonly claims: IdClaims;
  private lastFallback = 0;
  private stopped = false;
  private relaunchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: QueueSideDeps) {
    this.claims = new IdClaims(d.ctx.store, d.ctx.events, d.ctx.clock, d.queue, d.ctx.leaseMs, () => d.ctx.wake([d.queue]));
  }

  inspect(): Record<string, unknown> {
    return { ready: this.ready.length, running: this.running.size, consumerRunning: this.consumer !== null, stopped: this.stopped };
  }

  private get groupId(): string {
    return `${this.d.topic}.share`;
  }

  async start(): Promise<void> {
    await this.d.admin.shareGroupFromEarliest(this.groupId);
    await this.launch();
  }

  /**
   * A client and a share consumer. @kafkats/client 0.12.0 ends runEach()
   * with "No brokers available" when the broker goes away (seen in the
   * crash matrix) and does not come back by itself: a new client and
   * consumer are made a second later, until one runs. Records the old one
   * held come back from the broker when their locks expire.
   */
  private async launch(): Promise<void> {
    const o = this.d.options;
    const client = (this.client = new KafkaClient({ clientId: `${o.clientId}-share`, brokers: [...o.brokers], logLevel: 'error', connectionTimeoutMs: o.connectTimeoutMs }));
    // Required before runEach(): without it the first fetch throws 'No brokers available'.
    await client.connect();
    const consumer = (this.consumer = client.shareConsumer({ groupId: this.groupId, maxWaitMs: 500, maxRecords: Math.max(10, this.d.concurrency), acquireMode: 'record_limit' }));
    consumer.on('error', (err) => this.d.ctx.logger.warn({ err: rootCause(err), queue: this.d.queue }, 'Kafka share consumer error'));
    // Twice the slots: the next records wait here while jobs run, without starving other workers.
    this.run = consumer.runEach(this.d.topic, (m) => this.hold(m), { concurrency: this.d.concurrency * 2, idleBackoffMs: 50 }).then(
      () => this.relaunch(client),
      (err: unknown) => {
        if (!this.stopped) this.d.ctx.logger.warn({ err: rootCause(err), queue: this.d.queue }, 'Kafka share consumer ended; starting a new one in 1 s');
        this.relaunch(client);
      },
    );
  }

  private relaunch(ended: KafkaClient): void {
    void ended.disconnect().catch(() => {});
    if (this.stopped || ended !== this.client || this.relaunchTimer) return;
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = null;
      if (this.stopped) return;
      this.launch().catch((err: unknown) => {
        this.d.ctx.logger.warn({ err: rootCause(err), queue: this.d.queue }, 'Kafka share consumer cannot start yet');
        this.relaunch(this.client!);
      });
    }, 1000);
  }

  /** The handler runEach calls per record: resolves (and so acknowledges) once the record is done with. */
  private async hold(m: ShareMessage): Promise<void> {
    if (this.stopped) return m.release();
    const jobId = m.value?.toString() ?? '';
    // Not one of ours (someone else wrote to the topic): acknowledged, never claimed.
    if (!isJobId(jobId)) return;
    // Jobs longer than the broker's acquisition lock (30 s by default) keep their record.
    const lockMs = this.consumer?.acquisitionLockTimeoutMs || 30_000;
    const renew = setInterval(() => void m.renew().catch(() => {}), Math.max(1000, lockMs / 2));
    const verdict = await new Promise<Verdict>((settle) => {
      this.ready.push({ jobId, settle });
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
    // Until the slots are full or the buffer is empty (see QueueDispatcher.claim).
    let jobs: LeasedJob[] = [];
    while (jobs.length < req.max && this.ready.length > 0) {
      const batch = this.ready.splice(0, req.max - jobs.length);
      let got: LeasedJob[];
      try {
        got = await this.claims.claim(batch.map((h) => h.jobId), req);
      } catch (err) {
        this.ready.unshift(...batch);
        if (jobs.length > 0) break;
        throw err;
      }
      const claimed = new Set(got.map((j) => j.id));
      for (const h of batch) {
        if (!claimed.has(h.jobId)) h.settle('ack');
        else (this.running.get(h.jobId) ?? this.running.set(h.jobId, []).get(h.jobId)!).push(h);
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

  done(job: LeasedJob): void {
    for (const h of this.running.get(job.id) ?? []) h.settle('ack');
    this.running.delete(job.id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.claims.close();
    if (this.relaunchTimer) clearTimeout(this.relaunchTimer);
    // Records not claimed yet go back to the group at once instead of after their lock.
    for (const h of this.ready.splice(0)) h.settle('release');
    for (const list of this.running.values()) for (const h of list) h.settle('ack');
    await this.consumer?.stop().catch(() => {});
    await this.run?.catch(() => {});
    await this.client?.disconnect().catch(() => {});
  }
}

export function shareDispatch(options: KafkaOptions & { flag?: string }): DispatchFactory {
  return brokerDispatch(options, (d) => new ShareQueueDispatcher(d));
}
