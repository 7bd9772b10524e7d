/** A listing request as users write it, checked and turned into the store's parameters. */
import { JobqError } from '../contracts/errors.js';
import type { JobStatus } from '../contracts/job.js';
import type { JobListParams, ListInclude } from '../contracts/store.js';
import { MAX_KEY_LENGTH, NAME_PATTERN } from './input-limits.js';
import type { Limits } from './options.js';

export interface ListJobsParams {
  queue?: string;
  status?: JobStatus;
  /**
   * Only jobs of this type, with this key (exact), created at or after
   * `createdAfter` and before `createdBefore` (epoch ms). These filters walk
   * the order of queue and status and look at up to 10,000 jobs per page: a
   * page may come back short, even empty, with a `nextCursor` to page on.
   */
  type?: string;
  key?: string;
  createdAfter?: number;
  createdBefore?: number;
  /** @defaultValue 50 */
  limit?: number;
  cursor?: string;
  /** Heavy fields to include; listings leave payload and result out unless asked. */
  include?: Partial<ListInclude>;
}

export const DEFAULT_JOB_PAGE = 50;

const bad = (field: string, rule: string) => new JobqError('invalid_request', `${field} ${rule}`, { details: { field } });

function checkTime(field: 'createdAfter' | 'createdBefore', t: unknown): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t)) throw bad(field, 'must be an integer (epoch milliseconds)');
  return t;
}

/** The residual filters, checked as enqueue checks the same fields, so a filter can only name what could be stored. */
function residualFilters(params: ListJobsParams, p: JobListParams): void {
  const { type, key, createdAfter, createdBefore } = params;
  if (type !== undefined) {
    if (typeof type !== 'string' || !NAME_PATTERN.test(type)) throw bad('type', `must match ${NAME_PATTERN.source}`);
    p.type = type;
  }
  if (key !== undefined) {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\u0000')) {
      throw bad('key', `must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
    }
    p.key = key;
  }
  if (createdAfter !== undefined) p.createdAfter = checkTime('createdAfter', createdAfter);
  if (createdBefore !== undefined) p.createdBefore = checkTime('createdBefore', createdBefore);
  if (p.createdAfter !== undefined && p.createdBefore !== undefined && p.createdAfter >= p.createdBefore) {
    throw bad('createdBefore', 'must be later than createdAfter');
  }
}

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
  residualFilters(params, p);
  if (params.cursor !== undefined) p.cursor = params.cursor;
  return p;
}
