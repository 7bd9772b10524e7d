/** /v1/jobs: enqueue one or many, read, list, cancel, retry. */
import type { FastifyInstance } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import { DEFAULT_MAX_SCAN } from '../../contracts/store.js';
import type { EnqueueInput } from '../../core/enqueue-input.js';
import type { Jobq } from '../../core/jobq.js';
import type { JobStatus } from '../../contracts/job.js';
import { assertAllQueues, assertJobAllowed, assertQueueAllowed, assertQueuesAllowed, queuesOf } from '../auth/queue-access.js';
import { jobSummary, jobView } from '../job-view.js';
import type { RetentionOptions } from '../../core/options.js';
import { ALWAYS, enqueueBody, idParams, jobSchema, listQuery, pruneAnswerSchema, pruneBody, WITH_BODY } from '../schemas.js';

export async function requireJob(jobq: Jobq, id: string) {
  const job = await jobq.get(id);
  if (!job) throw new JobqError('not_found', `no job with id ${id}`);
  return job;
}

/** How long an Idempotency-Key is remembered after its job was created. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * `Idempotency-Key: <k>` makes a retried request answer the jobs the first
 * one stored (200, deduplicated) for 24 hours: each job gets the unique key
 * `idem:<k>` (a batch: `idem:<k>:<index>`). A job that names its own key
 * cannot also take the header's.
 */
function withIdempotencyKey(body: EnqueueInput | EnqueueInput[], header: string | string[] | undefined): EnqueueInput | EnqueueInput[] {
  if (header === undefined) return body;
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new JobqError('invalid_request', 'Idempotency-Key must be 1 to 200 printable ASCII characters', { details: { field: 'Idempotency-Key' } });
  }
  const keyed = (input: EnqueueInput, key: string): EnqueueInput => {
    if (input.key !== undefined) throw new JobqError('invalid_request', 'a job with its own key cannot also take the Idempotency-Key header', { details: { field: 'key' } });
    return { ...input, key, uniqueForMs: input.uniqueForMs ?? IDEMPOTENCY_WINDOW_MS };
  };
  return Array.isArray(body) ? body.map((input, i) => keyed(input, `idem:${header}:${i}`)) : keyed(body, `idem:${header}`);
}

/** A query's date-time as epoch ms; the schema checked its form, but a leap second (…T23:59:60Z) passes it and Date cannot read it. */
function epochMs(field: string, iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new JobqError('invalid_request', `${field} must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z`, { details: { field } });
  return ms;
}

const enqueueAnswer = { type: 'object', properties: { ...jobSchema.properties, jobs: { type: 'array', items: { $ref: 'JobSummary#' } } } } as const;

export function jobRoutes(app: FastifyInstance, jobq: Jobq): void {
  const { maxBatchSize } = jobq.options.limits;
  app.post<{ Body: EnqueueInput | EnqueueInput[] }>(
    '/v1/jobs',
    {
      config: {
        scope: 'jobs:write',
        rawJsonFields: ['payload'],
        errors: [...WITH_BODY, 409, 422, 429],
        // The document says what a client gets: a Job for an object, a JobBatch for an array.
        docResponses: {
          200: { description: 'Nothing new stored: every key was held (or the Idempotency-Key seen); the holders come back with deduplicated: true', oneOf: [{ $ref: 'Job#' }, { $ref: 'JobBatch#' }] },
          201: { description: 'The Job for a single enqueue; a JobBatch for an array', oneOf: [{ $ref: 'Job#' }, { $ref: 'JobBatch#' }] },
        },
      },
      schema: {
        operationId: 'enqueueJobs',
        summary: 'Enqueue one job (an object) or many (an array, all or none)',
        tags: ['jobs'],
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', description: 'A retried request with the same key answers the jobs the first one stored (200) for 24 hours.' } },
        },
        body: {
          oneOf: [enqueueBody, { type: 'array', items: enqueueBody, minItems: 1 }],
        },
        response: {
          // The serializer's schema is one object rather than oneOf: serializing a oneOf costs a validation per answer.
          200: enqueueAnswer,
          201: enqueueAnswer,
        },
      },
      // Reject oversized batches before validating 1,000s of items.
      preValidation: async (req) => {
        if (Array.isArray(req.body) && req.body.length > maxBatchSize) {
          throw new JobqError('batch_too_large', `a batch holds at most ${maxBatchSize} jobs; got ${req.body.length}`, {
            details: { limit: maxBatchSize },
          });
        }
      },
    },
    async (req, reply) => {
      assertQueuesAllowed(req, queuesOf(req.body, jobq.options.jobDefaults.queue));
      const body = withIdempotencyKey(req.body, req.headers['idempotency-key']);
      if (Array.isArray(body)) {
        const jobs = await jobq.enqueueManyShort(body);
        // 200 when nothing new was stored (every key was held: a retried request), else 201.
        return reply.code(jobs.every((j) => j.deduplicated) ? 200 : 201).send({ jobs: jobs.map(jobSummary) });
      }
      const job = await jobq.enqueue(body);
      return reply.code(job.deduplicated ? 200 : 201).send(jobView(job));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 400, 404] },
      schema: { operationId: 'getJob', summary: 'Get a job', tags: ['jobs'], params: idParams, response: { 200: { $ref: 'Job#' } } },
    },
    async (req) => {
      const job = await requireJob(jobq, req.params.id);
      assertQueueAllowed(req, job.queue);
      return jobView(job);
    },
  );

  app.get<{ Querystring: { queue?: string; status?: JobStatus; type?: string; key?: string; createdAfter?: string; createdBefore?: string; limit?: number; cursor?: string; include?: string } }>(
    '/v1/jobs',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 400] },
      schema: {
        operationId: 'listJobs',
        summary: 'List jobs a page at a time, filtered by queue, status, type, key and creation time, in the order of the queue and status filters (see docs)',
        description:
          `No filter: by id, which is the order jobs were made in (UUIDv7). A queue alone: the order it received them. A status: the order it is worked in — pending by queue, type and claim order; scheduled by queue and run time; processing by lease expiry; finished by queue and finish time. Payloads and results are left out unless include names them; a page also ends early once they reach ${jobq.options.limits.maxPageBytes} bytes. ` +
          `type, key, createdAfter and createdBefore are tested on the jobs of that order as a page walks it, ${DEFAULT_MAX_SCAN} jobs at most per page: a page may then come back short, even empty, with a nextCursor to go on; no nextCursor once the walk reached the end.`,
        tags: ['jobs'],
        querystring: listQuery,
        response: { 200: { $ref: 'JobPage#' } },
      },
    },
    async (req) => {
      const { queue, status, type, key, createdAfter, createdBefore, limit, cursor, include } = req.query;
      if (queue === undefined) assertAllQueues(req, 'name one of them with ?queue=');
      else assertQueueAllowed(req, queue);
      const wanted = new Set(include?.split(',') ?? []);
      const page = await jobq.list({
        ...(queue !== undefined && { queue }),
        ...(status !== undefined && { status }),
        ...(type !== undefined && { type }),
        ...(key !== undefined && { key }),
        ...(createdAfter !== undefined && { createdAfter: epochMs('createdAfter', createdAfter) }),
        ...(createdBefore !== undefined && { createdBefore: epochMs('createdBefore', createdBefore) }),
        ...(limit !== undefined && { limit }),
        ...(cursor !== undefined && { cursor }),
        include: { payload: wanted.has('payload'), result: wanted.has('result') },
      });
      return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
    },
  );

  app.post<{ Body: { retention?: RetentionOptions; queue?: string } | null | undefined }>(
    '/v1/jobs/prune',
    {
      bodyLimit: 64 * 1024,
      config: { scope: 'admin', errors: [...WITH_BODY] },
      schema: {
        operationId: 'pruneJobs',
        summary: "Delete finished jobs past their retention now (the leader also does it every minute); the body may shorten or lengthen the server's retention for this run",
        tags: ['jobs'],
        body: pruneBody,
        response: { 200: pruneAnswerSchema },
      },
    },
    async (req) => {
      const body = req.body ?? {};
      if (body.queue === undefined) assertAllQueues(req, 'name one of them in the body (queue)');
      else assertQueueAllowed(req, body.queue);
      const byStatus = await jobq.prune({ ...(body.retention && { retention: body.retention }), ...(body.queue !== undefined && { queue: body.queue }) });
      return { deleted: byStatus.completed + byStatus.failed + byStatus.cancelled, byStatus };
    },
  );

  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/jobs/:id/${action}`,
      {
        // These take no body: anything large is refused before it is read.
        bodyLimit: 64 * 1024,
        config: { scope: 'jobs:write', errors: [...WITH_BODY, 404, 409] },
        schema: {
          operationId: action === 'cancel' ? 'cancelJob' : 'retryJob',
          summary: action === 'cancel' ? 'Cancel a scheduled, pending or processing job' : 'Put a failed or cancelled job back in line',
          tags: ['jobs'],
          params: idParams,
          response: { 200: { $ref: 'Job#' } },
        },
      },
      async (req) => {
        await assertJobAllowed(req, (id) => jobq.get(id), req.params.id);
        return jobView(await (action === 'cancel' ? jobq.cancel(req.params.id) : jobq.retry(req.params.id)));
      },
    );
  }
}
