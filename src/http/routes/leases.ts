/**
 * The lease protocol over HTTP, for remote workers in any language: claim
 * (long-polling), then heartbeat, progress, complete, fail or release under
 * the lease token. Every call goes through the core's public lease API
 * (Jobq.claim/extend/complete/fail/release/setProgress), so the fence is the
 * in-process one: a lost lease answers 409 `lease_lost` and changes nothing.
 * Batch forms carry many leases per request (a worker's heartbeat, its
 * finished jobs); they answer per item.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import type { LeasedJob, LeaseRef } from '../../contracts/job.js';
import type { Jobq } from '../../core/jobq.js';
import { assertQueueAllowed } from '../auth/queue-access.js';
import type { TokenCache } from '../auth/token-cache.js';
import { jobView } from '../job-view.js';
import { idParams, queueParams, WITH_BODY } from '../schemas.js';
import { ClaimWaiters } from './claim-waiters.js';
import { finishAll, perLease, remoteError, resultCheck } from './lease-finishes.js';
import {
  errorBody,
  finishList,
  finishResults,
  leaseAnswer,
  leasedJobSchema,
  leaseMs,
  leaseRef,
  leaseToken,
  MAX_CLAIM,
  MAX_LEASE_BATCH,
  MAX_WAIT_MS,
  rateLimited,
  retryable,
  retryAfterMs,
  type ClaimBody,
  type FailBody,
  type FinishItem,
  type ItemAnswer,
} from './lease-schemas.js';
import { RemotePresence } from './remote-presence.js';

export { MAX_CLAIM, MAX_LEASE_BATCH, MAX_WAIT_MS } from './lease-schemas.js';

function leaseLost(id: string): JobqError {
  return new JobqError('lease_lost', `job ${id} is not held by this lease token (the lease expired, the job was cancelled or is claimed by another worker); nothing changed`);
}

function leasedView(j: LeasedJob): Record<string, unknown> {
  const view = jobView(j);
  view.leaseToken = j.leaseToken;
  return view;
}

/** The reply's connection went away before it was answered (a worker killed mid-poll). */
function watchClient(reply: FastifyReply): AbortSignal {
  const ctl = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ctl.abort();
  });
  return ctl.signal;
}

export function leaseRoutes(app: FastifyInstance, jobq: Jobq, tokens: TokenCache | null = null): void {
  const waiters = new ClaimWaiters(jobq);
  const presence = new RemotePresence(jobq);
  // A token revoked on any node ends its waiting claims within the cache's refresh (500 ms), not at waitMs.
  const unlisten = tokens?.onRevoked((ids) => waiters.revoke(ids));
  if (unlisten) app.addHook('onClose', (_app, done) => (unlisten(), done()));
  app.addSchema(leasedJobSchema);
  app.addHook('preClose', (done) => {
    waiters.close();
    done();
  });
  // A resume or a raised limit through this API wakes waiting claims at once (on SQLite this
  // node's own commits are not seen by its change feed; Postgres NOTIFYs them anyway).
  app.addHook('onResponse', (req, reply, done) => {
    const op = (req.routeOptions.schema as { operationId?: string } | undefined)?.operationId;
    if ((op === 'resumeQueue' || op === 'configureQueue') && reply.statusCode < 300) waiters.poke([(req.params as { name: string }).name]);
    done();
  });
  const resultTooLarge = resultCheck(jobq.options.limits.maxResultBytes);

  app.post<{ Params: { name: string }; Body: ClaimBody }>(
    '/v1/queues/:name/claim',
    {
      config: { scope: 'worker', errors: [...WITH_BODY] },
      schema: {
        operationId: 'claimJobs',
        summary: `Lease up to max jobs of a queue (waiting up to waitMs, at most ${MAX_WAIT_MS} ms, for one to arrive); each comes with its leaseToken`,
        description:
          'A long poll is woken by enqueues on any node, retries, rescues and due scheduled jobs, never by polling. Heartbeat with POST /v1/leases/extend (every leaseMs / 3), then complete, fail or release each job.',
        tags: ['leases'],
        params: queueParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            max: { type: 'integer', minimum: 1, maximum: MAX_CLAIM, description: `Most jobs to lease, 1..${MAX_CLAIM}. Default 1.` },
            leaseMs,
            waitMs: { type: 'integer', minimum: 0, maximum: MAX_WAIT_MS, description: `Wait this long for a job when none is ready, 0..${MAX_WAIT_MS}. Default 0.` },
            types: { type: 'array', minItems: 1, maxItems: 1000, items: queueParams.properties.name, description: 'Only jobs of these types (the handlers the worker has). Default: any type.' },
            workerId: { ...queueParams.properties.name, description: 'Names the worker in the node list (as remote:<workerId>:<queue>). Default: the token and the address it calls from.' },
            finishes: {
              ...finishList,
              description: 'Finished jobs of this worker, reported on the way (as POST /v1/leases/finish, answered in results): one request instead of two per round. A claim that carries finishes does not wait.',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['jobs'],
            properties: { jobs: { type: 'array', items: { $ref: 'LeasedJob#' } }, results: { ...finishResults, description: 'The answers to finishes, when the claim carried some.' } },
          },
        },
      },
    },
    async (req, reply) => {
      const queue = req.params.name;
      assertQueueAllowed(req, queue);
      const body = req.body;
      const claim = { queue, max: body.max ?? 1, ...(body.leaseMs !== undefined && { leaseMs: body.leaseMs }), ...(body.types && { types: body.types }) };
      // Finishes first: the slots they free are what this claim fills. Their answers must not wait behind a long poll.
      const results: ItemAnswer[] | undefined = body.finishes ? await finishAll(jobq, body.finishes, resultTooLarge) : undefined;
      const done = (jobs: Record<string, unknown>[]) => (results ? { jobs, results } : { jobs });
      const waitMs = results ? 0 : (body.waitMs ?? 0);
      const deadline = Date.now() + waitMs;
      const gone = watchClient(reply);
      const worker = body.workerId ?? `${req.auth.token?.name ?? 'anonymous'}@${req.ip}`;
      const release = presence.hold(worker, req.ip, queue, body.types);
      const waiter = waitMs > 0 ? waiters.register(queue, req.auth.token?.id ?? null) : null;
      try {
        for (;;) {
          if (waiter) waiter.woken = false;
          const jobs = await jobq.claimWithHints(claim);
          if (jobs.length > 0) {
            // Nobody is there to run them: give them back at once, attempt unspent.
            if (gone.aborted) {
              await jobq.release(jobs);
              return done([]);
            }
            return done(jobs.map(leasedView));
          }
          const left = deadline - Date.now();
          // Closing: the connection goes with the answer, so the server's close need not wait for it to idle out.
          if (waiters.closed) void reply.header('connection', 'close');
          if (!waiter || left <= 0 || gone.aborted || waiters.closed) return done([]);
          waiter.limited = jobs.limited === true;
          await waiter.sleep(left, gone, jobs.nextRunAt);
          if (waiter.revoked) {
            void reply.header('www-authenticate', 'Bearer realm="jobq", error="invalid_token"');
            throw new JobqError('unauthorized', 'the API token was revoked while this claim waited');
          }
        }
      } finally {
        waiter?.dispose();
        release();
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { leaseToken: string; result?: unknown } }>(
    '/v1/jobs/:id/complete',
    {
      config: { scope: 'worker', errors: [...WITH_BODY, 409] },
      schema: {
        operationId: 'completeJob',
        summary: 'Complete a leased job with its result (any JSON value)',
        tags: ['leases'],
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['leaseToken'], properties: { leaseToken, result: { description: 'Stored as the job result.' } } },
        response: { 200: leaseAnswer('completed') },
      },
    },
    async (req) => {
      const tooLarge = resultTooLarge(req.body.result);
      if (tooLarge) throw tooLarge;
      if (!(await jobq.complete({ id: req.params.id, leaseToken: req.body.leaseToken }, req.body.result))) throw leaseLost(req.params.id);
      return { id: req.params.id, status: 'completed' };
    },
  );

  app.post<{ Params: { id: string }; Body: FailBody }>(
    '/v1/jobs/:id/fail',
    {
      config: { scope: 'worker', errors: [...WITH_BODY, 409] },
      schema: {
        operationId: 'failJob',
        summary: 'Fail an attempt of a leased job: retried with backoff while attempts remain (or after retryAfterMs), failed for good with retryable: false, or throttled (rateLimited: attempt given back)',
        tags: ['leases'],
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['leaseToken', 'error'], properties: { leaseToken, error: errorBody, retryable, retryAfterMs, rateLimited } },
        response: { 200: leaseAnswer('scheduled or pending (to be retried) or failed') },
      },
    },
    async (req) => {
      const { leaseToken: token, error, retryable: again, retryAfterMs: after, rateLimited: throttle } = req.body;
      const out = await jobq.fail({ id: req.params.id, leaseToken: token }, remoteError(error, throttle), {
        ...(again !== undefined && { retryable: again }),
        ...(after !== undefined && { retryAfterMs: after }),
      });
      if (!out.applied) throw leaseLost(req.params.id);
      return { id: req.params.id, status: out.status };
    },
  );

  app.post<{ Params: { id: string }; Body: { leaseToken: string; progress: number } }>(
    '/v1/jobs/:id/progress',
    {
      config: { scope: 'worker', errors: [...WITH_BODY, 409] },
      schema: {
        operationId: 'setJobProgress',
        summary: 'Record the progress of a leased job (any number, e.g. percent)',
        tags: ['leases'],
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['leaseToken', 'progress'], properties: { leaseToken, progress: { type: 'number' } } },
        response: { 200: leaseAnswer('processing') },
      },
    },
    async (req) => {
      if (!(await jobq.setProgress({ id: req.params.id, leaseToken: req.body.leaseToken }, req.body.progress))) throw leaseLost(req.params.id);
      return { id: req.params.id, status: 'processing' };
    },
  );

  app.post<{ Params: { id: string }; Body: { leaseToken: string } }>(
    '/v1/jobs/:id/release',
    {
      config: { scope: 'worker', errors: [...WITH_BODY, 409] },
      schema: {
        operationId: 'releaseJob',
        summary: 'Give a leased job back unstarted: pending again, its attempt not spent (a worker shutting down)',
        tags: ['leases'],
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['leaseToken'], properties: { leaseToken } },
        response: { 200: leaseAnswer('pending') },
      },
    },
    async (req) => {
      const released = await jobq.release([{ id: req.params.id, leaseToken: req.body.leaseToken }]);
      if (released.length === 0) throw leaseLost(req.params.id);
      return { id: req.params.id, status: 'pending' };
    },
  );

  const refList = { type: 'array', items: leaseRef } as const;
  app.post<{ Body: { leases: LeaseRef[]; leaseMs?: number } }>(
    '/v1/leases/extend',
    {
      config: { scope: 'worker', errors: [...WITH_BODY] },
      schema: {
        operationId: 'extendLeases',
        summary: `Heartbeat: extend many leases at once (up to ${MAX_LEASE_BATCH}); the answer says which are still held and which were lost`,
        tags: ['leases'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['leases'],
          properties: { leases: { ...refList, minItems: 1, maxItems: MAX_LEASE_BATCH }, leaseMs },
        },
        response: { 200: { type: 'object', required: ['extended', 'lost'], properties: { extended: refList, lost: refList } } },
      },
    },
    async (req) => {
      const { leases, leaseMs: ms } = req.body;
      const held = await perLease(leases, (batch) => jobq.extend(batch, ms));
      return { extended: leases.filter((_, i) => held[i]), lost: leases.filter((_, i) => !held[i]) };
    },
  );

  app.post<{ Body: { finishes: FinishItem[] } }>(
    '/v1/leases/finish',
    {
      config: { scope: 'worker', errors: [...WITH_BODY] },
      schema: {
        operationId: 'finishLeases',
        summary: `Complete, fail or release many leased jobs at once (up to ${MAX_LEASE_BATCH}); answers per job, in order`,
        tags: ['leases'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['finishes'],
          properties: { finishes: finishList },
        },
        response: { 200: { type: 'object', required: ['results'], properties: { results: finishResults } } },
      },
    },
    async (req) => ({ results: await finishAll(jobq, req.body.finishes, resultTooLarge) }),
  );
}
