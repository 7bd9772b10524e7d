/** PATCH /v1/queues/{name}: a queue's cluster-wide flow control. */
import type { FastifyInstance } from 'fastify';
import type { QueueSettingsInput } from '../../core/queue-settings.js';
import type { Jobq } from '../../core/jobq.js';
import { assertQueueAllowed } from '../auth/queue-access.js';
import { queueParams, queueSettingsBody, WITH_BODY } from '../schemas.js';

export function queueSettingsRoutes(app: FastifyInstance, jobq: Jobq): void {
  app.patch<{ Params: { name: string }; Body: QueueSettingsInput }>(
    '/v1/queues/:name',
    {
      config: { scope: 'admin', errors: [...WITH_BODY, 429] },
      schema: {
        operationId: 'configureQueue',
        summary: "Set a queue's flow control (concurrency, perKeyConcurrency, rateLimit, perKeyRateLimit): fields left out keep their value, null removes a limit; every node obeys it from its next claim",
        tags: ['queues'],
        params: queueParams,
        body: queueSettingsBody,
        response: { 200: { type: 'object', required: ['name', 'settings'], properties: { name: { type: 'string' }, settings: { $ref: 'QueueSettings#' } } } },
      },
    },
    async (req) => {
      assertQueueAllowed(req, req.params.name);
      return { name: req.params.name, settings: await jobq.queues.configure(req.params.name, req.body) };
    },
  );
}
