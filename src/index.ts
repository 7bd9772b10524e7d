/**
 * Public API of the `jobq` package: the core only. It loads neither Fastify
 * nor a database driver; those come with `jobq/http`, `jobq/sqlite`,
 * `jobq/postgres` and `jobq/memory`, and the HTTP client with `jobq/client`.
 */
export { Jobq, type ListJobsParams } from './core/jobq.js';
export type { JobqOptions, QueueOptions, RetryOptions, JobDefaults, Limits, RetentionOptions } from './core/options.js';
export { DEFAULTS } from './core/options.js';
export type { EnqueueInput, TypedEnqueueInput, EnqueueInputOf } from './core/enqueue-input.js';
export type { EnqueuedJob, EnqueuedShort } from './core/enqueuer.js';
export type { FlowInput, FlowNode } from './core/flow.js';
export type { Handler, HandlerMap, JobContext, AbortReason, JobTypes, DefaultJobTypes } from './core/handler.js';
export type { ClaimRequest, FailOptions } from './core/leases/lease-api.js';
export type { RunWrapper } from './core/worker/run-hooks.js';
export type { QueueView, QueuePage } from './core/queue-view.js';
export type { QueueApi } from './core/queue-api.js';
export type { QueueSettingsInput } from './core/queue-settings.js';
export type { EventBus, Subscription, SubscribeOptions } from './core/events/event-bus.js';
export { JOB_STATUSES, TRANSITIONS, OPERATIONS, MAX_ERRORS_KEPT, type Job, type JobError, type JobStatus, type LeasedJob, type LeaseRef } from './contracts/job.js';
export { JOB_EVENT_KINDS, type JobEvent, type JobEventKind, type JobEventFilter } from './contracts/events.js';
export { JobqError, PermanentJobError, RateLimitedError, ERROR_CODES, isJobqError, type ErrorCode } from './contracts/errors.js';
export { systemClock, setCappedTimeout, type Clock, type TimerHandle } from './core/clock.js';
export { demoHandler, DEMO_TYPE } from './core/demo-handler.js';
export type { Store, StoreCapabilities, QueueInfo, QueueSettings, RateLimit, StatusCounts, ListedJob, JobListPage } from './contracts/store.js';
