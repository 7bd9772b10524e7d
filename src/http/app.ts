/**
 * createHttpApp(deps) builds the HTTP API over a Jobq and never listens:
 * tests drive it with inject() or a loopback port, and only cli/ binds one.
 */
import Fastify, { type FastifyBaseLogger, type FastifyContextConfig, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { JobqError } from '../contracts/errors.js';
import type { Jobq } from '../core/jobq.js';
import { findInexactInteger } from './body/exact-numbers.js';
import { BodyParserPool, INLINE_PARSE_BYTES } from './body/json-body.js';
import { clientErrorHandler } from './client-errors.js';
import { HTTP_DEFAULTS } from './defaults.js';
import { mapError } from './error-mapping.js';
import {
  ERROR_RESPONSES,
  errorBodySchema,
  flowAnswerSchema,
  flowBody,
  jobBatchSchema,
  jobPageSchema,
  jobSchema,
  jobSummarySchema,
  queueSettingsSchema,
  scheduleSchema,
  type ErrorStatus,
} from './schemas.js';
import { flowRoutes } from './routes/flows.js';
import { queueSettingsRoutes } from './routes/queue-settings.js';
import { scheduleRoutes } from './routes/schedules.js';
import { jobRoutes } from './routes/jobs.js';
import { seedRoutes } from './routes/seed.js';
import { systemRoutes, type Readiness } from './routes/system.js';
import { liveViewRoutes, type LiveViewOptions } from './routes/dashboard.js';
import { formatValidationError, validatorCompiler } from './validation.js';
import { installAuth, type AuthMode } from './auth/auth-hook.js';
import { TokenCache } from './auth/token-cache.js';
import { TokenService } from './auth/token-service.js';
import { leaseRoutes } from './routes/leases.js';
import { tokenRoutes } from './routes/tokens.js';

export interface HttpAppDeps {
  jobq: Jobq;
  logger?: Logger;
  /** Largest request body in bytes. @defaultValue 16 MiB */
  bodyLimitBytes?: number;
  /** Shared with the CLI, which flips it to false when draining. */
  readiness?: Readiness;
  /** A request must arrive whole within this. @defaultValue 30_000 */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections close after this. @defaultValue 5_000 */
  keepAliveTimeoutMs?: number;
  /**
   * When a request needs an API token (see src/http/auth/): `tokens` once the
   * store holds a live one, `required` always (a non-loopback address), `off`
   * never (--insecure-no-auth). @defaultValue 'tokens'
   */
  auth?: AuthMode;
  /** How often the live tokens are read again (a revocation takes effect within it). @defaultValue 500 */
  tokenRefreshMs?: number;
  /** The live view: event stream, /metrics, dashboard at `/` (docs/api.md). @defaultValue all on */
  liveView?: LiveViewOptions;
}


declare module 'fastify' {
  interface FastifyContextConfig {
    /** Body fields kept as the raw JSON text sent (stored as is). */
    rawJsonFields?: readonly string[];
    /** An empty body is accepted whatever its Content-Type (the seed's clients send one). */
    emptyBodyAnyType?: boolean;
    /** Error statuses the route can answer, for the OpenAPI document (bodies are always the Error component). */
    errors?: readonly ErrorStatus[];
    /** Success answers as the OpenAPI document shows them, where the serializer's schema differs. */
    docResponses?: Record<number, Record<string, unknown>>;
  }
}

/**
 * Any content type but JSON. Refused with 415 without reading the body,
 * except an empty body on a route that takes one whatever its type.
 */
function otherContentType(req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void): void {
  const type = req.headers['content-type'];
  const refuse = () => done(new JobqError('unsupported_media_type', `content-type must be application/json; got ${type ? `"${type}"` : 'none'}`));
  if (!req.routeOptions.config.emptyBodyAnyType) return refuse();
  const length = req.headers['content-length'];
  if (length !== undefined) return length.trim() === '0' ? done(null, undefined) : refuse();
  // Chunked: empty only if it ends before any byte arrives.
  let settled = false;
  const settle = (empty: boolean) => {
    if (settled) return;
    settled = true;
    if (empty) done(null, undefined);
    else refuse();
  };
  payload.on('data', (chunk: Buffer) => chunk.length > 0 && settle(false));
  payload.on('end', () => settle(true));
  payload.on('error', (err: Error) => {
    if (!settled) {
      settled = true;
      done(err);
    }
  });
}

/** Adds each route's error answers (config.errors) and document-only success answers (config.docResponses) to the OpenAPI document. */
function documentRoute({ schema, url, route }: { schema: Record<string, unknown> | undefined; url: string; route: { config?: FastifyContextConfig } }) {
  const config = route.config ?? {};
  if (!schema) return { schema: {}, url };
  // Every route but the public ones takes a bearer token of its scope (src/http/auth/), and may answer 401 and 403.
  const scope = config.scope ?? 'admin';
  const auth = scope === 'public' ? { security: [] } : { security: [{ bearerAuth: [] }], 'x-jobq-scope': scope };
  const errors: ErrorStatus[] = [...(config.errors ?? []), ...(scope === 'public' ? [] : ([401, 403] as const))];
  const response: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  for (const [status, doc] of Object.entries(config.docResponses ?? {})) response[status] = doc;
  for (const status of [...new Set(errors)].sort()) response[status] = { description: ERROR_RESPONSES[status], $ref: 'Error#' };
  return { schema: { ...schema, ...auth, response }, url };
}

export async function createHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const readiness = deps.readiness ?? { ready: true };
  const { jobq } = deps;
  const app = Fastify({
    // Request lines are logged at info; a warn-level child keeps the server quiet by default.
    loggerInstance: deps.logger?.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger | undefined,
    bodyLimit: deps.bodyLimitBytes ?? HTTP_DEFAULTS.bodyLimitBytes,
    requestTimeout: deps.requestTimeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs,
    keepAliveTimeout: deps.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs,
    return503OnClosing: true,
    // Bodies strict (no coercion, unknown fields refused), query strings coerced: see validation.ts.
    schemaErrorFormatter: formatValidationError,
    // Above the 128 characters a name may have, so long names reach the schema and get our 400.
    routerOptions: { maxParamLength: 2048 },
    // Errors the router raises before any route runs (a malformed URL, a path segment over
    // maxParamLength) get the same {"error":{code,message}} shape as everything else.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as { code(status: number): { send(body: unknown): unknown } };
      void r.code(400).send({ error: { code: 'invalid_request', message: err.message } });
    },
    // Errors Node's HTTP parser raises before a request exists (malformed request line or
    // headers, a request that did not arrive in time, headers too large) too.
    clientErrorHandler,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  app.setValidatorCompiler(validatorCompiler);
  // Auth first: every route added below is recorded with its scope, and checked before its body is read.
  const mode = deps.auth ?? 'tokens';
  const tokens = mode === 'off' ? null : new TokenCache(jobq.store, { refreshMs: deps.tokenRefreshMs ?? 500, onError: (err) => deps.logger?.warn({ err }, 'could not read API tokens; the last known ones stay in force') });
  installAuth(app, { cache: tokens, mode });
  if (tokens) app.addHook('onClose', () => tokens.stop());
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = mapError(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).send(body);
  });
  // Which methods each path takes, so a known path with the wrong method gets 405 and an Allow header.
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (r) => {
    const pattern = new RegExp(`^${r.url.replace(/:[^/]+/g, '[^/]+')}$`);
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ pattern, method: m });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
    if (allowed.length > 0) {
      void reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}` } });
      return;
    }
    void reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${req.method} ${path}` } });
  });

  // A compressed body would be parsed as if it were plain JSON: refuse what we do not decode.
  app.addHook('onRequest', async (req) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw new JobqError('unsupported_media_type', `Content-Encoding "${encoding}" is not supported; send the body uncompressed`);
    }
  });

  const parsers = new BodyParserPool();
  app.addHook('onClose', () => parsers.close());
  const maxItems = jobq.options.limits.maxBatchSize;
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer;
    if (buf.length > INLINE_PARSE_BYTES) {
      parsers.parse(buf, req.routeOptions.config.rawJsonFields ?? [], maxItems).then(
        (value) => done(null, value),
        (err: unknown) => done(err as Error, undefined),
      );
      return;
    }
    let text: string;
    try {
      text = utf8.decode(buf);
    } catch {
      return done(new JobqError('invalid_json', 'body is not valid UTF-8'), undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    const inexact = findInexactInteger(text);
    if (inexact) {
      return done(new JobqError('invalid_request', `${inexact} is an integer beyond ±(2^53 − 1), which JSON numbers cannot keep exactly; send it as a string`, { details: { field: inexact } }), undefined);
    }
    parseJson(req, text, done);
  });
  app.addContentTypeParser('*', otherContentType);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'jobq',
        version: '0.1.0',
        description: 'A durable job queue. Every error answer is {"error":{"code","message"}} with a stable code; see docs/errors.md.',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: 'http://127.0.0.1:8080', description: 'jobq serve with its defaults' }],
      // Per operation (documentRoute): a bearer token of the route's scope (x-jobq-scope), or none for the public ones.
      security: [],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (jobq token create); each operation names the scope it needs in x-jobq-scope; admin holds every scope.' },
        },
      },
      tags: [
        { name: 'jobs', description: 'Enqueue, read, list, cancel and retry jobs' },
        { name: 'queues', description: 'Queues: counts, flow control, pause and resume' },
        { name: 'schedules', description: 'Cron schedules: the leader enqueues each slot once' },
        { name: 'leases', description: 'The lease protocol for remote workers: claim (long poll), heartbeat, progress, complete, fail, release' },
        { name: 'tokens', description: 'API tokens and their scopes (admin)' },
        { name: 'seed', description: "The seed's API, kept as it answered" },
        { name: 'system', description: 'Liveness and readiness' },
        { name: 'events', description: 'Job events as they happen (Server-Sent Events) and recent counts' },
      ],
    },
    transform: documentRoute as never,
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // The seed's POST /enqueue takes no body at all (it then enqueues the demo job).
    transformObject: (doc) => {
      const spec = (doc as { openapiObject: { paths?: Record<string, Record<string, { requestBody?: { required?: boolean } }>> } }).openapiObject;
      const body = spec.paths?.['/enqueue']?.post?.requestBody;
      if (body) body.required = false;
      return spec as never;
    },
  });
  for (const schema of [jobSchema, jobSummarySchema, jobBatchSchema, jobPageSchema, errorBodySchema, queueSettingsSchema, scheduleSchema, flowBody, flowAnswerSchema]) app.addSchema(schema);

  seedRoutes(app, jobq);
  jobRoutes(app, jobq);
  systemRoutes(app, jobq, readiness);
  await liveViewRoutes(app, jobq, deps.liveView);
  queueSettingsRoutes(app, jobq);
  scheduleRoutes(app, jobq);
  flowRoutes(app, jobq);
  leaseRoutes(app, jobq, tokens);
  tokenRoutes(app, new TokenService(jobq.store), tokens);
  app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());

  await tokens?.start();
  await app.ready();
  return app;
}
