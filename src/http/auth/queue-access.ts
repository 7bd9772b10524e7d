/**
 * Tokens limited to queues. Each route that touches a queue says which
 * (see index.ts, rule 3); these helpers answer 403 `forbidden` otherwise.
 */
import type { FastifyRequest } from 'fastify';
import { JobqError } from '../../contracts/errors.js';

/** The queues the caller may touch; null: every queue (an unlimited token, or auth off). */
export function allowedQueues(req: FastifyRequest): readonly string[] | null {
  return req.auth?.token?.queues ?? null;
}

export function assertQueueAllowed(req: FastifyRequest, queue: string): void {
  const allowed = allowedQueues(req);
  if (allowed !== null && !allowed.includes(queue)) {
    throw new JobqError('forbidden', `token "${req.auth.token!.name}" may not touch queue "${queue}" (it is limited to ${allowed.join(', ')})`, { details: { queue } });
  }
}

export function assertQueuesAllowed(req: FastifyRequest, queues: Iterable<string>): void {
  if (allowedQueues(req) === null) return;
  for (const q of new Set(queues)) assertQueueAllowed(req, q);
}

/** A call across queues (a listing without a queue filter, token management) is refused to a queue-limited token. */
export function assertAllQueues(req: FastifyRequest, what: string): void {
  const allowed = allowedQueues(req);
  if (allowed !== null) {
    throw new JobqError('forbidden', `token "${req.auth.token!.name}" is limited to ${allowed.join(', ')}: ${what}`);
  }
}

/** A limited token may touch a job only in its queues: reads the job first (only then), 404 when there is none. */
export async function assertJobAllowed(req: FastifyRequest, get: (id: string) => Promise<{ queue: string } | null>, id: string): Promise<void> {
  if (allowedQueues(req) === null) return;
  const job = await get(id);
  if (!job) throw new JobqError('not_found', `no job with id ${id}`);
  assertQueueAllowed(req, job.queue);
}

/** The queues of enqueue inputs (one or many, a flow's tree), `dflt` for those that name none. */
export function queuesOf(inputs: unknown, dflt: string): string[] {
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (typeof x !== 'object' || x === null) return;
    const o = x as { queue?: unknown; job?: unknown; children?: unknown };
    // A flow node is { job, children }; a job input names its queue or takes the default.
    if ('job' in o && typeof o.job === 'object') {
      walk(o.job);
      walk(o.children);
      return;
    }
    out.push(typeof o.queue === 'string' ? o.queue : dflt);
  };
  walk(inputs);
  return out;
}
