/** A listing request as users write it, checked and turned into the store's parameters. */
import { JobqError } from '../contracts/errors.js';
import type { JobStatus } from '../contracts/job.js';
import type { JobListParams, ListInclude } from '../contracts/store.js';
import type { Limits } from './options.js';

export interface ListJobsParams {
  queue?: string;
  status?: JobStatus;
  /** @defaultValue 50 */
  limit?: number;
  cursor?: string;
  /** Heavy fields to include; listings leave payload and result out unless asked. */
  include?: Partial<ListInclude>;
}

export const DEFAULT_JOB_PAGE = 50;

export function toJobListParams(params: ListJobsParams, limits: Required<Pick<Limits, 'maxPageSize' | 'maxPageBytes'>>): JobListParams {
  const { maxPageSize, maxPageBytes } = limits;
  const limit = params.limit ?? DEFAULT_JOB_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new JobqError('invalid_request', `limit must be an integer from 1 to ${maxPageSize}`, { details: { field: 'limit' } });
  }
  const include = { payload: params.include?.payload ?? false, result: params.include?.result ?? false };
  const p: JobListParams = { limit, include, maxBytes: maxPageBytes };
  if (params.queue !== undefined) p.queue = params.queue;
  if (params.status !== undefined) p.status = params.status;
  if (params.cursor !== undefined) p.cursor = params.cursor;
  return p;
}
