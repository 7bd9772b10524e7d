/** Queues, health and readiness. */
import type { FastifyInstance } from 'fastify';
import type { Jobq } from '../../core/jobq.js';
import { allowedQueues, assertQueueAllowed } from '../auth/queue-access.js';
import { ALWAYS, queueInfoSchema, queueListQuery, queueParams, WITH_BODY } from '../schemas.js';

export interface Readiness {
  /** False once shutdown began: /readyz answers 503 so load balancers stop sending. */
  ready: boolean;
}

export function systemRoutes(app: FastifyInstance, jobq: Jobq, readiness: Readiness): void {
  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/queues',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 400] },
      schema: {
        operationId: 'listQueues',
        summary: 'Queues by name, a page at a time, with their job counts per status, paused flag and unhandled pending jobs',
        tags: ['queues'],
        querystring: queueListQuery,
        response: {
          200: {
            type: 'object',
            required: ['queues', 'nextCursor'],
            properties: { queues: { type: 'array', items: queueInfoSchema }, nextCursor: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (req) => {
      const { limit, cursor } = req.query;
      const page = await jobq.queues.list({ ...(limit !== undefined && { limit }), ...(cursor !== undefined && { cursor }) });
      // A token limited to queues sees only those (the cursor still walks every queue).
      const allowed = allowedQueues(req);
      return allowed === null ? page : { ...page, queues: page.queues.filter((q) => allowed.includes(q.name)) };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(
      `/v1/queues/:name/${action}`,
      {
        bodyLimit: 64 * 1024,
        config: { scope: 'admin', errors: [...WITH_BODY, 429] },
        schema: {
          operationId: action === 'pause' ? 'pauseQueue' : 'resumeQueue',
          summary: action === 'pause' ? 'Stop claiming jobs of a queue (cluster-wide)' : 'Resume claiming jobs of a queue',
          tags: ['queues'],
          params: queueParams,
          response: {
            200: { type: 'object', required: ['name', 'paused'], properties: { name: { type: 'string' }, paused: { type: 'boolean' } } },
          },
        },
      },
      async (req) => {
        assertQueueAllowed(req, req.params.name);
        await (action === 'pause' ? jobq.queues.pause(req.params.name) : jobq.queues.resume(req.params.name));
        return { name: req.params.name, paused: action === 'pause' };
      },
    );
  }

  const status = { type: 'object', required: ['status'], properties: { status: { type: 'string' }, reason: { type: 'string' } } } as const;
  app.get(
    '/healthz',
    { config: { scope: 'public', errors: [...ALWAYS] }, schema: { operationId: 'health', summary: 'Liveness', tags: ['system'], response: { 200: status } } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { scope: 'public', errors: [405, 408, 431, 500] },
      schema: {
        operationId: 'readiness',
        summary: 'Readiness: 503 while draining or while the store cannot serve',
        tags: ['system'],
        response: { 200: status, 503: { ...status, description: 'draining, or the store cannot serve' } },
      },
    },
    async (_req, reply) => {
      if (!readiness.ready) return reply.code(503).send({ status: 'draining' });
      // While failing, look again now rather than answer from the last probe (also when no probe loop runs).
      if (!jobq.health.healthy) await jobq.health.probe();
      if (!jobq.health.healthy) return reply.code(503).send({ status: 'store_unavailable', reason: jobq.health.lastError });
      return { status: 'ready' };
    },
  );
}
