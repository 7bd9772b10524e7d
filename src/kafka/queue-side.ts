/** The worker side of one queue, whatever kind of group it reads (consumer group or share group). */
import type { LeasedJob } from '../contracts/job.js';
import type { ClaimRequest } from '../core/leases/lease-api.js';
import type { DispatchContext } from '../core/worker/claim-source.js';
import type { ResolvedKafkaOptions } from './options.js';
import type { TopicAdmin } from './topics.js';

export interface QueueSide {
  start(): Promise<void>;
  stop(): Promise<void>;
  claim(req: ClaimRequest): Promise<LeasedJob[]>;
  done(job: LeasedJob): void;
  /** What this side holds now, for diagnosis (a stuck job's first question: where is its record?). */
  inspect(): Record<string, unknown>;
}

export interface QueueSideDeps {
  queue: string;
  topic: string;
  concurrency: number;
  options: ResolvedKafkaOptions;
  admin: TopicAdmin;
  ctx: DispatchContext;
}
