/**
 * What a token may do. Each HTTP route needs exactly one scope (or is
 * `public`); a token satisfies a route when it holds that scope or `admin`.
 * Importable without Fastify (the CLI checks `--scopes` against it).
 */
export const SCOPES = ['jobs:read', 'jobs:write', 'worker', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a route declares in its Fastify `config.scope`: a scope, or `public` for routes that answer without a token. */
export type RouteScope = Scope | 'public';

/** What each scope is for, for `--help`, the OpenAPI document and the README. */
export const SCOPE_HELP: Readonly<Record<Scope, string>> = {
  'jobs:read': 'read jobs, queues, schedules and events',
  'jobs:write': 'enqueue, cancel and retry jobs',
  worker: 'claim jobs and the lease calls (heartbeat, progress, complete, fail, release)',
  admin: 'everything: queue settings, pause and resume, schedules, tokens, prune',
  metrics: 'scrape GET /metrics',
};

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** Whether a token holding `held` may call a route that needs `needed`. */
export function satisfies(held: readonly string[], needed: RouteScope): boolean {
  return needed === 'public' || held.includes(needed) || held.includes('admin');
}
