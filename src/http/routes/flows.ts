/** POST /v1/flows: a parent job and its children (and theirs) in one transaction. */
import type { FastifyInstance } from 'fastify';
import type { EnqueuedJob } from '../../core/enqueuer.js';
import type { FlowInput, FlowNode } from '../../core/flow.js';
import type { Jobq } from '../../core/jobq.js';
import { assertQueuesAllowed, queuesOf } from '../auth/queue-access.js';
import { jobSummary } from '../job-view.js';
import { flowBody, WITH_BODY } from '../schemas.js';

function view(node: FlowNode<EnqueuedJob>): unknown {
  return { job: jobSummary(node.job), children: node.children.map(view) };
}

export function flowRoutes(app: FastifyInstance, jobq: Jobq): void {
  app.post<{ Body: FlowInput }>(
    '/v1/flows',
    {
      config: { scope: 'jobs:write', errors: [...WITH_BODY, 409, 422, 429] },
      schema: {
        operationId: 'enqueueFlow',
        summary: 'Enqueue a flow: the parent waits (status waiting) until every child completed; children first, all in one transaction',
        tags: ['jobs'],
        body: flowBody,
        response: { 201: { $ref: 'FlowAnswer#' } },
      },
    },
    async (req, reply) => {
      assertQueuesAllowed(req, queuesOf(req.body, jobq.options.jobDefaults.queue));
      return reply.code(201).send(view(await jobq.flow(req.body)));
    },
  );
}
