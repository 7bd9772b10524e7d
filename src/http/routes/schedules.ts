/** /v1/schedules: cron schedules (create or update, read, list, remove, pause, resume). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import type { CatchUp, Schedule, ScheduledJob } from '../../contracts/store.js';
import type { Jobq } from '../../core/jobq.js';
import { allowedQueues, assertQueueAllowed } from '../auth/queue-access.js';
import { ALWAYS, queueListQuery, queueParams, scheduleBody, WITH_BODY } from '../schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function scheduleView(s: Schedule) {
  return { ...s, nextRunAt: iso(s.nextRunAt), lastRunAt: iso(s.lastRunAt), createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) };
}

interface ScheduleBody {
  cron: string;
  tz?: string;
  job: ScheduledJob;
  catchUp?: CatchUp;
  paused?: boolean;
}

export function scheduleRoutes(app: FastifyInstance, jobq: Jobq): void {
  const find = async (name: string) => {
    const s = await jobq.schedules.get(name);
    if (!s) throw new JobqError('not_found', `no schedule named ${name}`);
    return s;
  };
  const queueOf = (s: { job: ScheduledJob }) => s.job.queue ?? jobq.options.jobDefaults.queue;
  /** A token limited to queues touches only schedules that enqueue into them (read first only then). */
  const assertScheduleAllowed = async (req: FastifyRequest<{ Params: { name: string } }>) => {
    if (allowedQueues(req) !== null) assertQueueAllowed(req, queueOf(await find(req.params.name)));
  };

  app.put<{ Params: { name: string }; Body: ScheduleBody }>(
    '/v1/schedules/:name',
    {
      config: { scope: 'admin', errors: [...WITH_BODY] },
      schema: {
        operationId: 'putSchedule',
        summary: 'Create or update a cron schedule (idempotent: an unchanged definition keeps its next and last run)',
        tags: ['schedules'],
        params: queueParams,
        body: scheduleBody,
        response: {
          200: { type: 'object', required: ['schedule', 'changed'], properties: { schedule: { $ref: 'Schedule#' }, changed: { type: 'boolean' } } },
        },
      },
    },
    async (req) => {
      assertQueueAllowed(req, queueOf(req.body));
      const { schedule, changed } = await jobq.schedules.upsert({ name: req.params.name, ...req.body });
      return { schedule: scheduleView(schedule), changed };
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/schedules',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 400] },
      schema: {
        operationId: 'listSchedules',
        summary: 'Schedules by name, a page at a time',
        tags: ['schedules'],
        querystring: queueListQuery,
        response: {
          200: {
            type: 'object',
            required: ['schedules', 'nextCursor'],
            properties: { schedules: { type: 'array', items: { $ref: 'Schedule#' } }, nextCursor: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const page = await jobq.schedules.list({ limit: limit + 1, ...(req.query.cursor !== undefined && { after: req.query.cursor }) });
      const more = page.length > limit;
      const schedules = page.slice(0, limit);
      const allowed = allowedQueues(req);
      const visible = allowed === null ? schedules : schedules.filter((s) => allowed.includes(queueOf(s)));
      return { schedules: visible.map(scheduleView), nextCursor: more ? schedules.at(-1)!.name : null };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/v1/schedules/:name',
    {
      config: { scope: 'jobs:read', errors: [...ALWAYS, 400, 404] },
      schema: { operationId: 'getSchedule', summary: 'A schedule, with its next and last run', tags: ['schedules'], params: queueParams, response: { 200: { $ref: 'Schedule#' } } },
    },
    async (req) => {
      const s = await find(req.params.name);
      assertQueueAllowed(req, queueOf(s));
      return scheduleView(s);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/schedules/:name',
    {
      config: { scope: 'admin', errors: [...ALWAYS, 400, 404] },
      schema: { operationId: 'deleteSchedule', summary: 'Remove a schedule (jobs it enqueued stay)', tags: ['schedules'], params: queueParams, response: { 204: { type: 'null', description: 'Removed' } } },
    },
    async (req, reply) => {
      await assertScheduleAllowed(req);
      if (!(await jobq.schedules.remove(req.params.name))) throw new JobqError('not_found', `no schedule named ${req.params.name}`);
      return reply.code(204).send();
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(
      `/v1/schedules/:name/${action}`,
      {
        bodyLimit: 64 * 1024,
        config: { scope: 'admin', emptyBodyAnyType: true, errors: [...WITH_BODY, 404] },
        schema: {
          operationId: action === 'pause' ? 'pauseSchedule' : 'resumeSchedule',
          summary: action === 'pause' ? 'Stop enqueuing slots of a schedule' : 'Enqueue slots again, from the next one after now (missed slots are not caught up)',
          tags: ['schedules'],
          params: queueParams,
          response: { 200: { $ref: 'Schedule#' } },
        },
      },
      async (req) => {
        await assertScheduleAllowed(req);
        return scheduleView(await jobq.schedules.setPaused(req.params.name, action === 'pause'));
      },
    );
  }
}
