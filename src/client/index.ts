/** Entry point `jobq/client`: a typed HTTP client for a jobq server. */
export {
  JobqClient,
  type JobqClientOptions,
  type JobJson,
  type JobErrorJson,
  type JobSummaryJson,
  type JobPage,
  type QueueJson,
  type QueuePageJson,
  type ListJobsQuery,
  type PruneJson,
  type PruneParams,
} from './jobq-client.js';
export type { JobTypes, DefaultJobTypes, TypedEnqueueInput, EnqueueInputOf } from './typed-input.js';
export type { LeaseClient, LeasedJobJson, LeaseRefJson, ClaimOptions, FinishJson, FinishResultJson, RemoteErrorJson, FailOptionsJson } from './lease-client.js';
export type { RemoteWorker, RemoteWorkerOptions } from './remote-worker.js';
export type { TokenClient, TokenJson, TokenInputJson } from './token-client.js';
export { consoleLogger } from './worker-logger.js';
/** The handler types are the core's: the same handlers run in process and in a remote worker. */
export type { Handler, HandlerMap, JobContext, AbortReason } from '../core/handler.js';
export type { Job } from '../contracts/job.js';
export { PermanentJobError, RateLimitedError } from '../contracts/errors.js';
export { JobqError, isJobqError, type ErrorCode } from '../contracts/errors.js';
export type { JobStatus } from '../contracts/job.js';
