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
import { JobqError, RateLimitedError } from '../../contracts/errors.js';
import type { JobStatus, LeasedJob, LeaseRef } from '../../contracts/job.js';
import type { Jobq } from '../../core/jobq.js';
import { MAX_DELAY_MS } from '../../core/enqueue-input.js';
import { assertQueueAllowed } from '../auth/queue-access.js';
import type { TokenCache } from '../auth/token-cache.js';
import { jobView } from '../job-view.js';
import { idParams, jobSchema, queueParams, WITH_BODY } from '../schemas.js';
import { ClaimWaiters } from './claim-waiters.js';
import { RemotePresence } from './remote-presence.js';

/** The longest a claim may wait for work. */
export const MAX_WAIT_MS = 30_000;
/** Most jobs one claim hands out. */
export const MAX_CLAIM = 100;
/** Most leases in one batch request. */
export const MAX_LEASE_BATCH = 1000;

const uuid = idParams.properties.id;
const leaseToken = { type: 'string', pattern: uuid.pattern, description: 'The token the claim answered with this job.' } as const;
const leaseMs = { type: 'integer', minimum: 1000, maximum: 3_600_000, description: "How long the lease holds without a heartbeat, 1 s to 1 h. Default: the server's --lease-ms." } as const;
const leaseRef = { type: 'object', additionalProperties: false, required: ['id', 'leaseToken'], properties: { id: uuid, leaseToken } } as const;
const errorBody = {
  type: 'object',
  additionalProperties: false,
  required: ['message'],
  properties: { message: { type: 'string', maxLength: 65_536 }, stack: { type: 'string', maxLength: 262_144 } },
} as const;
const retryAfterMs = { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS, description: "Run again after this long instead of the retry policy's backoff (while attempts remain)." } as const;
const retryable = { type: 'boolean', description: 'false fails the job for good. Default true.' } as const;
const rateLimited = {
  type: 'object',
  additionalProperties: false,
  required: ['retryAfterMs'],
  properties: { retryAfterMs, scope: { type: 'string', enum: ['key', 'queue'], description: "What waits: the job's rate key (default) or the whole queue." } },
  description: 'The remote side throttled (a RateLimitedError in process): back in line after retryAfterMs with the attempt given back, and nothing of its rate key (or queue) starts before then.',
} as const;

export const leasedJobSchema = {
  $id: 'LeasedJob',
  type: 'object',
  required: [...jobSchema.required, 'leaseToken'],
  properties: { ...jobSchema.properties, leaseToken: { type: 'string' } },
} as const;

const leaseAnswer = (status: string) =>
  ({ type: 'object', required: ['id', 'status'], properties: { id: { type: 'string' }, status: { type: 'string', description: status } } }) as const;

interface ClaimBody {
  max?: number;
  leaseMs?: number;
  waitMs?: number;
  types?: string[];
  workerId?: string;
}

interface FailBody {
  leaseToken: string;
  error: { message: string; stack?: string };
  retryable?: boolean;
  retryAfterMs?: number;
  rateLimited?: { retryAfterMs: number; scope?: 'key' | 'queue' };
}

type FinishItem = LeaseRef &
  ({ outcome: 'completed'; result?: unknown } | { outcome: 'failed'; error?: FailBody['error']; retryable?: boolean; retryAfterMs?: number; rateLimited?: FailBody['rateLimited'] } | { outcome: 'released' });

interface ItemAnswer {
  id: string;
  leaseToken: string;
  applied: boolean;
  status: JobStatus | null;
  error?: { code: string; message: string };
}

/**
 * A remote worker's error as the core would see a thrown one: its message and
 * its own stack (never the server's frames); a throttle as a RateLimitedError.
 */
function remoteError(e: { message: string; stack?: string }, throttle?: FailBody['rateLimited']): Error {
  const err = throttle ? new RateLimitedError({ retryAfterMs: throttle.retryAfterMs, scope: throttle.scope ?? 'key', message: e.message }) : new Error(e.message);
  Object.defineProperty(err, 'stack', { value: e.stack, enumerable: false });
  return err;
}

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
  const maxResultBytes = jobq.options.limits.maxResultBytes;
  const resultTooLarge = (result: unknown): JobqError | null => {
    const json = result === undefined ? '' : JSON.stringify(result);
    if (json === undefined || json.length <= maxResultBytes || Buffer.byteLength(json) <= maxResultBytes) return null;
    return new JobqError('payload_too_large', `the result is ${Buffer.byteLength(json)} bytes of JSON; the limit is ${maxResultBytes}`, { details: { field: 'result', limit: maxResultBytes } });
  };

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
          },
        },
        response: { 200: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: { $ref: 'LeasedJob#' } } } } },
      },
    },
    async (req, reply) => {
      const queue = req.params.name;
      assertQueueAllowed(req, queue);
      const body = req.body;
      const claim = { queue, max: body.max ?? 1, ...(body.leaseMs !== undefined && { leaseMs: body.leaseMs }), ...(body.types && { types: body.types }) };
      const waitMs = body.waitMs ?? 0;
      const deadline = Date.now() + waitMs;
      const gone = watchClient(reply);
      const worker = body.workerId ?? `${req.auth.token?.name ?? 'anonymous'}@${req.ip}`;
      const release = presence.hold(worker, req.ip, queue, body.types);
      const waiter = waitMs > 0 ? waiters.register(queue, req.auth.token?.id ?? null) : null;
      try {
        for (;;) {
          if (waiter) waiter.woken = false;
          const jobs: LeasedJob[] & { limited?: boolean } = await jobq.claim(claim);
          if (jobs.length > 0) {
            // Nobody is there to run them: give them back at once, attempt unspent.
            if (gone.aborted) {
              await jobq.release(jobs);
              return { jobs: [] };
            }
            return { jobs: jobs.map(leasedView) };
          }
          const left = deadline - Date.now();
          // Closing: the connection goes with the answer, so the server's close need not wait for it to idle out.
          if (waiters.closed) void reply.header('connection', 'close');
          if (!waiter || left <= 0 || gone.aborted || waiters.closed) return { jobs: [] };
          waiter.limited = jobs.limited === true;
          await waiter.sleep(left, gone);
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
          properties: {
            finishes: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_LEASE_BATCH,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['id', 'leaseToken', 'outcome'],
                properties: {
                  id: uuid,
                  leaseToken,
                  outcome: { type: 'string', enum: ['completed', 'failed', 'released'] },
                  result: { description: 'completed: the job result.' },
                  error: errorBody,
                  retryable,
                  retryAfterMs,
                  rateLimited,
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['results'],
            properties: {
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'leaseToken', 'applied', 'status'],
                  properties: {
                    id: { type: 'string' },
                    leaseToken: { type: 'string' },
                    applied: { type: 'boolean', description: 'false: the lease was lost (nothing changed), or the item was refused (see error)' },
                    status: { type: ['string', 'null'], description: 'The status the job went to; null when not applied' },
                    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const items = req.body.finishes;
      const answers: ItemAnswer[] = items.map((f) => ({ id: f.id, leaseToken: f.leaseToken, applied: false, status: null }));
      const releases: number[] = [];
      // Completions settled in one tick share one store statement (the core's finisher); a job
      // finished twice in one batch (a stale token and the current one) is sorted out there too.
      await Promise.all(
        items.map(async (f, i) => {
          const ref = { id: f.id, leaseToken: f.leaseToken };
          const a = answers[i]!;
          if (f.outcome === 'released') return void releases.push(i);
          if (f.outcome === 'completed') {
            const tooLarge = resultTooLarge(f.result);
            if (tooLarge) return void (a.error = { code: tooLarge.code, message: tooLarge.message });
            a.applied = await jobq.complete(ref, f.result);
            a.status = a.applied ? 'completed' : null;
            return;
          }
          if (!f.error) return void (a.error = { code: 'invalid_request', message: `finishes[${i}].error is required when outcome is failed` });
          const out = await jobq.fail(ref, remoteError(f.error, f.rateLimited), { ...(f.retryable !== undefined && { retryable: f.retryable }), ...(f.retryAfterMs !== undefined && { retryAfterMs: f.retryAfterMs }) });
          a.applied = out.applied;
          a.status = out.status;
        }),
      );
      const held = await perLease(
        releases.map((i) => items[i]!),
        (batch) => jobq.release(batch),
      );
      releases.forEach((i, k) => {
        answers[i]!.applied = held[k]!;
        answers[i]!.status = held[k] ? 'pending' : null;
      });
      return { results: answers };
    },
  );
}

/**
 * Runs a lease call that answers with job ids, per lease: the first lease of
 * each job in one call, a job's further leases (a stale token beside the
 * current one) one call each after it, so an id in the answer always means
 * the lease it was asked with. Returns, per lease in order, whether it held.
 */
async function perLease(leases: readonly LeaseRef[], call: (batch: LeaseRef[]) => Promise<string[]>): Promise<boolean[]> {
  const held = new Array<boolean>(leases.length).fill(false);
  if (leases.length === 0) return held;
  const seen = new Set<string>();
  const first: number[] = [];
  const later: number[] = [];
  leases.forEach((l, i) => (seen.has(l.id) ? later.push(i) : (seen.add(l.id), first.push(i))));
  const ok = new Set(await call(first.map((i) => leases[i]!)));
  for (const i of first) held[i] = ok.has(leases[i]!.id);
  for (const i of later) held[i] = (await call([leases[i]!])).length === 1;
  return held;
}
