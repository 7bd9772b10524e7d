/** Public API of the `jobq` package. Backends live in `jobq/sqlite` and `jobq/memory`. */
export { Jobq, MAX_PAGE_SIZE, type ListJobsParams } from './core/jobq.js';
export type { JobqOptions, QueueOptions, RetryOptions, JobDefaults, Limits } from './core/options.js';
export { DEFAULTS } from './core/options.js';
export type { EnqueueInput } from './core/enqueue-input.js';
export type { Handler, HandlerMap, JobContext, AbortReason } from './core/handler.js';
export { JOB_STATUSES, TRANSITIONS, type Job, type JobError, type JobStatus } from './core/job.js';
export { JobqError, PermanentJobError, ERROR_CODES, type ErrorCode } from './core/errors.js';
export { systemClock, type Clock, type TimerHandle } from './core/clock.js';
export { demoHandler, DEMO_TYPE } from './core/demo-handler.js';
export type { Store, StoreCapabilities, QueueInfo, StatusCounts } from './storage/store.js';
export { createHttpApp, type HttpAppDeps } from './http/app.js';
export { JobqClient, type JobqClientOptions } from './client/jobq-client.js';
