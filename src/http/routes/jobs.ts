/** /v1/jobs: enqueue one or many, read, list, cancel, retry. */
import type { FastifyInstance } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import type { EnqueueInput } from '../../core/enqueue-input.js';
import type { Jobq } from '../../core/jobq.js';
import type { JobStatus } from '../../contracts/job.js';
import { jobSummary, jobView } from '../job-view.js';
import { commonErrors, enqueueBody, errorSchema, idParams, jobSchema, jobSummarySchema, listQuery } from '../schemas.js';

export async function requireJob(jobq: Jobq, id: string) {
  const job = await jobq.get(id);
  if (!job) throw new JobqError('not_found', `no job with id ${id}`);
  return job;
}

export function jobRoutes(app: FastifyInstance, jobq: Jobq): void {
  const { maxBatchSize } = jobq.options.limits;
  app.post<{ Body: EnqueueInput | EnqueueInput[] }>(
    '/v1/jobs',
    {
      config: { rawJsonFields: ['payload'] },
      schema: {
        summary: 'Enqueue one job (an object) or many (an array, all or none)',
        tags: ['jobs'],
        body: {
          oneOf: [enqueueBody, { type: 'array', items: enqueueBody, minItems: 1 }],
        },
        response: {
          // One object schema rather than oneOf: serializing a oneOf costs a validation per answer.
          201: {
            type: 'object',
            description: 'The Job for a single enqueue; {"jobs": [summary, …]} for a batch.',
            properties: { ...jobSchema.properties, jobs: { type: 'array', items: jobSummarySchema } },
          },
          ...commonErrors,
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
      const body = req.body;
      if (Array.isArray(body)) {
        const jobs = await jobq.enqueueMany(body);
        return reply.code(201).send({ jobs: jobs.map(jobSummary) });
      }
      return reply.code(201).send(jobView(await jobq.enqueue(body)));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { summary: 'Get a job', tags: ['jobs'], params: idParams, response: { 200: { $ref: 'Job#' }, 404: errorSchema, 400: errorSchema } } },
    async (req) => jobView(await requireJob(jobq, req.params.id)),
  );

  app.get<{ Querystring: { queue?: string; status?: JobStatus; limit?: string; cursor?: string; include?: string } }>(
    '/v1/jobs',
    {
      schema: {
        summary: 'List jobs a page at a time, filtered by queue and/or status, each filter in its own order (see docs)',
        description: `No filter or a queue alone: creation order. A status: the order it is worked in — pending by queue, type and claim order; scheduled by queue and run time; processing by lease expiry; finished by queue and finish time. Payloads and results are left out unless include names them; a page also ends early once they reach ${jobq.options.limits.maxPageBytes} bytes.`,
        tags: ['jobs'],
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            properties: { jobs: { type: 'array', items: { $ref: 'Job#' } }, nextCursor: { type: ['string', 'null'] } },
          },
          400: errorSchema,
        },
      },
    },
    async (req) => {
      const { queue, status, limit, cursor, include } = req.query;
      const wanted = new Set(include?.split(',') ?? []);
      const page = await jobq.list({
        ...(queue !== undefined && { queue }),
        ...(status !== undefined && { status }),
        ...(limit !== undefined && { limit: Number(limit) }),
        ...(cursor !== undefined && { cursor }),
        include: { payload: wanted.has('payload'), result: wanted.has('result') },
      });
      return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
    },
  );

  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/jobs/:id/${action}`,
      {
        // These take no body: anything large is refused before it is read.
        bodyLimit: 64 * 1024,
        schema: {
          summary: action === 'cancel' ? 'Cancel a scheduled, pending or processing job' : 'Put a failed or cancelled job back in line',
          tags: ['jobs'],
          params: idParams,
          response: { 200: { $ref: 'Job#' }, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (req) => jobView(await (action === 'cancel' ? jobq.cancel(req.params.id) : jobq.retry(req.params.id))),
    );
  }
}
