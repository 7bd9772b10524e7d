/**
 * The seed's API, answering as the seed did: POST /enqueue is 200 with the
 * job (`id`, `payload`, `status`, `createdAt` and our other fields) and takes
 * an empty body with any content type (Go's http.Post(url, "", nil), curl -d '',
 * Python urllib with data=b'', hey); GET /status/{id} is 404 "job not found"
 * for any id that does not exist, malformed ones included.
 */
import type { FastifyInstance } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import { DEMO_TYPE } from '../../core/demo-handler.js';
import type { EnqueueInput } from '../../core/enqueue-input.js';
import type { Jobq } from '../../core/jobq.js';
import { assertQueueAllowed, assertQueuesAllowed, queuesOf } from '../auth/queue-access.js';
import { jobView } from '../job-view.js';
import { ALWAYS, seedEnqueueBody, WITH_BODY } from '../schemas.js';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function seedRoutes(app: FastifyInstance, jobq: Jobq): void {
  app.post<{ Body: Partial<EnqueueInput> | null | undefined }>(
    '/enqueue',
    {
      config: { scope: 'jobs:write', rawJsonFields: ['payload'], emptyBodyAnyType: true, errors: [...WITH_BODY, 429] },
      schema: {
        operationId: 'seedEnqueue',
        summary: 'Seed-compatible enqueue; with no body it enqueues the demo job (sleeps payload.ms, default 1000)',
        tags: ['seed'],
        body: seedEnqueueBody,
        response: { 200: { $ref: 'Job#' } },
      },
      // Go's http.Post(url, "", nil) sends "Content-Type:" with nothing after it, which is no media
      // type at all: treat it as no header, so an empty body is simply no body.
      onRequest: (req, _reply, done) => {
        const type = req.headers['content-type'];
        if (type !== undefined && type.trim() === '') delete req.headers['content-type'];
        done();
      },
    },
    async (req) => {
      const body = req.body ?? {};
      assertQueuesAllowed(req, queuesOf(body, jobq.options.jobDefaults.queue));
      return jobView(await jobq.enqueue({ ...body, type: body.type ?? DEMO_TYPE }));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/status/:id',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 404] },
      schema: {
        operationId: 'seedStatus',
        summary: 'Seed-compatible job status',
        tags: ['seed'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        response: { 200: { $ref: 'Job#' } },
      },
    },
    async (req) => {
      // Only a UUID can name a job; anything else is simply not one (and never reaches the store).
      const job = UUID.test(req.params.id) ? await jobq.get(req.params.id) : null;
      if (!job) throw new JobqError('not_found', 'job not found');
      assertQueueAllowed(req, job.queue);
      return jobView(job);
    },
  );
}
