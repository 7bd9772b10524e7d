/**
 * /v1/tokens: the admin routes for API tokens (the same as `jobq token
 * create|list|revoke`). The secret is in the create answer and nowhere else.
 * A token limited to queues may not manage tokens (it could mint an unlimited one).
 */
import type { FastifyInstance } from 'fastify';
import { assertAllQueues } from '../auth/queue-access.js';
import { SCOPE_HELP, SCOPES } from '../auth/scopes.js';
import type { TokenCache } from '../auth/token-cache.js';
import { TokenService, type TokenView } from '../auth/token-service.js';
import { ALWAYS, queueParams, WITH_BODY } from '../schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(t: TokenView) {
  return { ...t, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) };
}

const name = queueParams.properties.name;
const isoTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const tokenSchema = {
  $id: 'Token',
  type: 'object',
  required: ['id', 'name', 'scopes', 'queues', 'createdAt', 'lastUsedAt', 'revokedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string', enum: SCOPES } },
    queues: { type: ['array', 'null'], items: { type: 'string' }, description: 'The queues it may touch; null: every queue.' },
    createdAt: isoTime,
    lastUsedAt: { ...isoTime, description: 'Recorded every 10 s or so.' },
    revokedAt: isoTime,
  },
} as const;

export function tokenRoutes(app: FastifyInstance, service: TokenService, cache: TokenCache | null): void {
  app.addSchema(tokenSchema);
  const scopeDoc = SCOPES.map((s) => `${s}: ${SCOPE_HELP[s]}`).join('; ');

  app.post<{ Body: { name: string; scopes: string[]; queues?: string[] | null } }>(
    '/v1/tokens',
    {
      bodyLimit: 64 * 1024,
      config: { scope: 'admin', errors: [...WITH_BODY, 409] },
      schema: {
        operationId: 'createToken',
        summary: 'Create an API token; the answer holds its secret, shown this once (only its SHA-256 is stored)',
        description: `Scopes: ${scopeDoc}.`,
        tags: ['tokens'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'scopes'],
          properties: {
            name,
            scopes: { type: 'array', minItems: 1, maxItems: SCOPES.length, items: { type: 'string', enum: SCOPES } },
            queues: { type: ['array', 'null'], minItems: 1, maxItems: 1000, items: name, description: 'Limit the token to these queues. Default: every queue.' },
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['token', 'secret'],
            properties: { token: { $ref: 'Token#' }, secret: { type: 'string', description: 'Send as Authorization: Bearer <secret>. Not shown again.' } },
          },
        },
      },
    },
    async (req, reply) => {
      assertAllQueues(req, 'a token limited to queues cannot create tokens');
      const { token, secret } = await service.create({ name: req.body.name, scopes: req.body.scopes, queues: req.body.queues ?? null });
      // Known here at once (other nodes read it on first use).
      await cache?.reload().catch(() => {});
      return reply.code(201).send({ token: view(token), secret });
    },
  );

  app.get<{ Querystring: { includeRevoked?: boolean } }>(
    '/v1/tokens',
    {
      config: { scope: 'admin', errors: [...ALWAYS, 400] },
      schema: {
        operationId: 'listTokens',
        summary: 'API tokens by name (never their secrets)',
        tags: ['tokens'],
        querystring: { type: 'object', additionalProperties: false, properties: { includeRevoked: { type: 'boolean', description: 'Also revoked tokens. Default false.' } } },
        response: { 200: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: { $ref: 'Token#' } } } } },
      },
    },
    async (req) => {
      assertAllQueues(req, 'a token limited to queues cannot list tokens');
      return { tokens: (await service.list({ includeRevoked: req.query.includeRevoked === true })).map(view) };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/v1/tokens/:name/revoke',
    {
      bodyLimit: 64 * 1024,
      config: { scope: 'admin', emptyBodyAnyType: true, errors: [...WITH_BODY, 404] },
      schema: {
        operationId: 'revokeToken',
        summary: 'Revoke a token: refused on every node within a second',
        tags: ['tokens'],
        params: queueParams,
        response: { 200: { $ref: 'Token#' } },
      },
    },
    async (req) => {
      assertAllQueues(req, 'a token limited to queues cannot revoke tokens');
      const t = await service.revoke(req.params.name);
      cache?.forget(t.name);
      return view(t);
    },
  );
}
