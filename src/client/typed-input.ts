/**
 * Typed enqueues for the client. These are the same definitions as the core's
 * (JobTypes, TypedEnqueueInput, EnqueueInputOf) requested in
 * .tmp/issue9-core-requests.md; once the core exports them this file
 * re-exports theirs.
 */
import type { EnqueueInput } from '../core/enqueue-input.js';

/** Payload types by job type name, e.g. `{ email: EmailPayload; resize: ResizePayload }`. */
export type JobTypes = object;

/** The untyped map: any type name, any payload. */
export type DefaultJobTypes = any;

/** `payload` may be left out (stored as null) only when its type allows undefined or null. */
type PayloadField<P> = undefined extends P ? { payload?: P } : null extends P ? { payload?: P } : { payload: P };

/** An enqueue of one job of type `K`: `type` is `K` and `payload` has `T[K]`'s type. */
export type TypedEnqueueInput<T extends JobTypes, K extends keyof T & string> = Omit<EnqueueInput<T[K]>, 'type' | 'payload'> & { type: K } & PayloadField<T[K]>;

/** An enqueue of any one job type of the map (a union discriminated by `type`), for batches. */
export type EnqueueInputOf<T extends JobTypes> = { [K in keyof T & string]: TypedEnqueueInput<T, K> }[keyof T & string];
