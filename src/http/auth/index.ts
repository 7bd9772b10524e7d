/**
 * API tokens and scopes for the HTTP API.
 *
 * THE CONVENTION (every route follows it; a test enforces it):
 *
 * 1. Every route declares its scope in its Fastify `config`:
 *      app.get('/v1/events', { config: { scope: 'jobs:read' }, schema: … }, handler)
 *    Scopes (scopes.ts): `jobs:read`, `jobs:write`, `worker`, `admin`,
 *    `metrics`; `public` for a route that answers without a token (health,
 *    readiness, the OpenAPI document, the dashboard's static page).
 *    A route without `config.scope` is treated as `admin`-only (closed, not
 *    open) and fails test/http/auth-matrix.test.ts, which derives the
 *    route × scope matrix from the route table and checks 401 / 403 / 2xx
 *    for every cell (add a sample request for a new route there).
 * 2. One `onRequest` hook (auth-hook.ts) checks `Authorization: Bearer …`
 *    before the body is read: 401 `unauthorized` (with WWW-Authenticate)
 *    without a valid token, 403 `forbidden` without the scope. A token with
 *    `admin` satisfies every scope. Handlers find who called in `req.auth`.
 * 3. A token may be limited to queues. A route that touches a queue (a
 *    queue in the path, the body or the query, or a job's queue) calls
 *    `assertQueueAllowed(req, queue)`; a route that lists across queues
 *    narrows to `allowedQueues(req)` (null: every queue). Lease calls need
 *    no check: the lease token comes from a claim on an allowed queue.
 * 4. Scopes of the routes of issue #14: the event stream and the
 *    dashboard's data `jobs:read`; `/metrics` `metrics` (a scrape token
 *    reads counts, never payloads); the dashboard's page and assets `public`.
 * 5. A request that holds on (an event stream) ends when its token is
 *    revoked: `onTokensRevoked(app, (ids) => …)` with `req.auth.token?.id`.
 *
 * When auth applies: as soon as the store holds a live token (cluster-wide,
 * seen within a second), or always when the server listens on a
 * non-loopback address; `--insecure-no-auth` turns it off. Secrets are
 * stored only as SHA-256 hashes and never logged.
 */
export { SCOPES, SCOPE_HELP, isScope, satisfies, type Scope, type RouteScope } from './scopes.js';
export { onTokensRevoked, routeTable, type Principal, type AuthMode } from './auth-hook.js';
export { allowedQueues, assertQueueAllowed, assertQueuesAllowed, assertAllQueues } from './queue-access.js';
