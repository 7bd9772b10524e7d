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
export { JobqError, isJobqError, type ErrorCode } from '../contracts/errors.js';
export type { JobStatus } from '../contracts/job.js';
