/** The seed's API, kept working: POST /enqueue and GET /status/{id}. */
import type { FastifyInstance } from 'fastify';
import { DEMO_TYPE } from '../../core/demo-handler.js';
import type { EnqueueInput } from '../../core/enqueue-input.js';
import type { Jobq } from '../../core/jobq.js';
import { jobView } from '../job-view.js';
import { commonErrors, errorSchema, idParams, seedEnqueueBody } from '../schemas.js';
import { requireJob } from './jobs.js';

export function seedRoutes(app: FastifyInstance, jobq: Jobq): void {
  app.post<{ Body: Partial<EnqueueInput> | null | undefined }>(
    '/enqueue',
    {
      config: { rawJsonFields: ['payload'] },
      schema: {
        summary: 'Seed-compatible enqueue; with no body it enqueues the demo job (sleeps payload.ms, default 1000)',
        tags: ['seed'],
        body: seedEnqueueBody,
        response: { 201: { $ref: 'Job#' }, ...commonErrors },
      },
    },
    async (req, reply) => {
      const body = req.body ?? {};
      const job = await jobq.enqueue({ ...body, type: body.type ?? DEMO_TYPE });
      return reply.code(201).send(jobView(job));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/status/:id',
    { schema: { summary: 'Seed-compatible job status', tags: ['seed'], params: idParams, response: { 200: { $ref: 'Job#' }, 400: errorSchema, 404: errorSchema } } },
    async (req) => jobView(await requireJob(jobq, req.params.id)),
  );
}
