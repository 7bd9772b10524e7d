/**
 * The one check of every request (see index.ts for the convention): the
 * route's declared scope against the bearer token, in an onRequest hook,
 * so nothing of an unauthorised request's body is read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JobqError } from '../../contracts/errors.js';
import type { ApiToken } from '../../contracts/store.js';
import { satisfies, type RouteScope } from './scopes.js';
import type { TokenCache } from './token-cache.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a token needs to call this route (see src/http/auth/index.ts). Required on every route. */
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** Who called: the token, or null when auth does not apply (a public route, or an open server). */
    auth: Principal;
  }
}

export interface Principal {
  token: ApiToken | null;
}

/**
 * - `tokens`: a token is needed as soon as the store holds a live one (a
 *   server on loopback is open until the first token is created).
 * - `required`: always, even with no token at all (a server on a
 *   non-loopback address: with every token revoked it locks, never opens).
 * - `off`: never (`--insecure-no-auth`).
 */
export type AuthMode = 'tokens' | 'required' | 'off';

export interface RouteEntry {
  method: string;
  url: string;
  /** Undefined when the route forgot to declare one (it is then admin-only). */
  scope: RouteScope | undefined;
  operationId: string | undefined;
}

const OPEN: Principal = Object.freeze({ token: null });
const tables = new WeakMap<FastifyInstance, RouteEntry[]>();
const caches = new WeakMap<FastifyInstance, TokenCache>();

/**
 * Calls `listener` with the ids of tokens that stop being live (revoked on
 * any node, seen within the cache's refresh), so a request that holds on (an
 * event stream) can end; `req.auth.token?.id` is what to compare. Returns how
 * to stop listening; does nothing when auth is off.
 */
export function onTokensRevoked(app: FastifyInstance, listener: (ids: ReadonlySet<string>) => void): () => void {
  return caches.get(app)?.onRevoked(listener) ?? (() => {});
}

/** Every route of the app with its declared scope (HEAD routes left out), for the route × scope test. */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}

const REALM = 'Bearer realm="jobq"';

function refusal(reply: FastifyReply, code: 'unauthorized' | 'forbidden', message: string, challenge: string): JobqError {
  void reply.header('www-authenticate', challenge);
  return new JobqError(code, message);
}

/** The secret of `Authorization: Bearer <secret>`; null when there is none. */
function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

/** Installs the check; call before any route is added, so each is recorded. */
export function installAuth(app: FastifyInstance, deps: { cache: TokenCache | null; mode: AuthMode }): void {
  const { cache, mode } = deps;
  const table: RouteEntry[] = [];
  tables.set(app, table);
  if (cache) caches.set(app, cache);
  app.addHook('onRoute', (r) => {
    const config = (r.config ?? {}) as { scope?: RouteScope };
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue;
      table.push({ method, url: r.url, scope: config.scope, operationId: (r.schema as { operationId?: string } | undefined)?.operationId });
    }
  });
  app.decorateRequest('auth', null as unknown as Principal);
  // Callback style with a synchronous path for a known token: no promise per request (a 10 % cost measured with one).
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    req.auth = OPEN;
    if (mode === 'off' || !cache) return done();
    // Fastify builds req.routeOptions afresh at each read: read it once.
    const route = req.routeOptions;
    // No route matched (404, 405): nothing to protect, and nothing to tell.
    if (route.url === undefined) return done();
    // A route that forgot its scope is closed to all but admin tokens (and fails the matrix test).
    const needed: RouteScope = route.config.scope ?? 'admin';
    if (needed === 'public') return done();
    // Until the tokens were read once, nobody knows whether auth applies: read them (store_unavailable if that fails).
    if (!cache.ready) {
      cache.reload().then(() => check(req, reply, needed, cache, mode, done), done);
      return;
    }
    check(req, reply, needed, cache, mode, done);
  });
}

function check(req: FastifyRequest, reply: FastifyReply, needed: RouteScope, cache: TokenCache, mode: AuthMode, done: (err?: Error) => void): void {
  if (mode === 'tokens' && cache.size === 0) return done();
  const header = req.headers.authorization;
  const conn = req.raw.socket;
  // A keep-alive connection repeats its header: the token it proved, without hashing the secret again.
  const proved = header === undefined ? undefined : cache.recall(conn, header);
  if (proved !== undefined) return grant(req, reply, proved, needed, done);
  const secret = bearer(header);
  if (secret === null) return done(refusal(reply, 'unauthorized', 'this server needs an API token: send Authorization: Bearer <token>', REALM));
  const known = secret === '' ? null : cache.lookup(secret, { conn, header: header! });
  if (known !== undefined) return grant(req, reply, known, needed, done);
  cache.find(secret).then((token) => grant(req, reply, token, needed, done), done);
}

/** Lets the request through with `token` if it holds the scope `needed`; 401 without a token, 403 without the scope. */
function grant(req: FastifyRequest, reply: FastifyReply, token: ApiToken | null, needed: RouteScope, done: (err?: Error) => void): void {
  if (!token) return done(refusal(reply, 'unauthorized', 'the API token is not valid (unknown, revoked, or not a Bearer token)', `${REALM}, error="invalid_token"`));
  if (!satisfies(token.scopes, needed)) {
    return done(refusal(reply, 'forbidden', `token "${token.name}" lacks the scope "${needed}" this route needs`, `${REALM}, error="insufficient_scope", scope="${needed}"`));
  }
  req.auth = { token };
  done();
}
