/** Queues, health and readiness. */
import type { FastifyInstance } from 'fastify';
import type { Jobq } from '../../core/jobq.js';
import { errorSchema, queueInfoSchema, queueParams } from '../schemas.js';

export interface Readiness {
  /** False once shutdown began: /readyz answers 503 so load balancers stop sending. */
  ready: boolean;
}

export function systemRoutes(app: FastifyInstance, jobq: Jobq, readiness: Readiness): void {
  app.get(
    '/v1/queues',
    {
      schema: {
        summary: 'Queues with their job counts per status and paused flag',
        tags: ['queues'],
        response: { 200: { type: 'object', properties: { queues: { type: 'array', items: queueInfoSchema } } } },
      },
    },
    async () => ({ queues: await jobq.queues() }),
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(
      `/v1/queues/:name/${action}`,
      {
        schema: {
          summary: action === 'pause' ? 'Stop claiming jobs of a queue (cluster-wide)' : 'Resume claiming jobs of a queue',
          tags: ['queues'],
          params: queueParams,
          response: { 200: { type: 'object', properties: { name: { type: 'string' }, paused: { type: 'boolean' } } }, 400: errorSchema },
        },
      },
      async (req) => {
        await (action === 'pause' ? jobq.pause(req.params.name) : jobq.resume(req.params.name));
        return { name: req.params.name, paused: action === 'pause' };
      },
    );
  }

  const status = { type: 'object', properties: { status: { type: 'string' } } } as const;
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['system'], response: { 200: status } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { summary: 'Readiness; 503 while draining', tags: ['system'], response: { 200: status, 503: status } } },
    async (_req, reply) => (readiness.ready ? { status: 'ready' } : reply.code(503).send({ status: 'draining' })),
  );
}
