/** The payload-map types of typed enqueues, the same as the core's (see src/core/handler.ts and enqueue-input.ts). */
export type { JobTypes, DefaultJobTypes } from '../core/handler.js';
export type { TypedEnqueueInput, EnqueueInputOf } from '../core/enqueue-input.js';
