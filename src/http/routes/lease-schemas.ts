/** JSON Schemas and body types of the lease protocol's routes (leases.ts). */
import type { JobStatus, LeaseRef } from '../../contracts/job.js';
import { MAX_DELAY_MS } from '../../core/enqueue-input.js';
import { idParams, jobSchema } from '../schemas.js';

/** The longest a claim may wait for work. */
export const MAX_WAIT_MS = 30_000;
/** Most jobs one claim hands out. */
export const MAX_CLAIM = 100;
/** Most leases in one batch request. */
export const MAX_LEASE_BATCH = 1000;

export const uuid = idParams.properties.id;
export const leaseToken = { type: 'string', pattern: uuid.pattern, description: 'The token the claim answered with this job.' } as const;
export const leaseMs = { type: 'integer', minimum: 1000, maximum: 3_600_000, description: "How long the lease holds without a heartbeat, 1 s to 1 h. Default: the server's --lease-ms." } as const;
export const leaseRef = { type: 'object', additionalProperties: false, required: ['id', 'leaseToken'], properties: { id: uuid, leaseToken } } as const;
export const errorBody = {
  type: 'object',
  additionalProperties: false,
  required: ['message'],
  properties: { message: { type: 'string', maxLength: 65_536 }, stack: { type: 'string', maxLength: 262_144 } },
} as const;
export const retryAfterMs = { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS, description: "Run again after this long instead of the retry policy's backoff (while attempts remain)." } as const;
export const retryable = { type: 'boolean', description: 'false fails the job for good. Default true.' } as const;
export const rateLimited = {
  type: 'object',
  additionalProperties: false,
  required: ['retryAfterMs'],
  properties: { retryAfterMs, scope: { type: 'string', enum: ['key', 'queue'], description: "What waits: the job's rate key (default) or the whole queue." } },
  description: 'The remote side throttled (a RateLimitedError in process): back in line after retryAfterMs with the attempt given back, and nothing of its rate key (or queue) starts before then.',
} as const;

export const leasedJobSchema = {
  $id: 'LeasedJob',
  type: 'object',
  required: [...jobSchema.required, 'leaseToken'],
  properties: { ...jobSchema.properties, leaseToken: { type: 'string' } },
} as const;

export const leaseAnswer = (status: string) =>
  ({ type: 'object', required: ['id', 'status'], properties: { id: { type: 'string' }, status: { type: 'string', description: status } } }) as const;

/** Many finishes: POST /v1/leases/finish, and a claim that reports its worker's finished jobs on the way. */
export const finishList = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_LEASE_BATCH,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'leaseToken', 'outcome'],
    properties: {
      id: uuid,
      leaseToken,
      outcome: { type: 'string', enum: ['completed', 'failed', 'released'] },
      result: { description: 'completed: the job result.' },
      error: errorBody,
      retryable,
      retryAfterMs,
      rateLimited,
    },
  },
} as const;

/** The answer to each finish, in the order asked. */
export const finishResults = {
  type: 'array',
  items: {
    type: 'object',
    required: ['id', 'leaseToken', 'applied', 'status'],
    properties: {
      id: { type: 'string' },
      leaseToken: { type: 'string' },
      applied: { type: 'boolean', description: 'false: the lease was lost (nothing changed), or the item was refused (see error)' },
      status: { type: ['string', 'null'], description: 'The status the job went to; null when not applied' },
      error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

export interface ClaimBody {
  max?: number;
  leaseMs?: number;
  waitMs?: number;
  types?: string[];
  workerId?: string;
  finishes?: FinishItem[];
}

export interface FailBody {
  leaseToken: string;
  error: { message: string; stack?: string };
  retryable?: boolean;
  retryAfterMs?: number;
  rateLimited?: { retryAfterMs: number; scope?: 'key' | 'queue' };
}

export type FinishItem = LeaseRef &
  (
    | { outcome: 'completed'; result?: unknown }
    | { outcome: 'failed'; error?: FailBody['error']; retryable?: boolean; retryAfterMs?: number; rateLimited?: FailBody['rateLimited'] }
    | { outcome: 'released' }
  );

export interface ItemAnswer {
  id: string;
  leaseToken: string;
  applied: boolean;
  status: JobStatus | null;
  error?: { code: string; message: string };
}
