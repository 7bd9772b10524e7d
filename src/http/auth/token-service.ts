/**
 * Creating, listing and revoking API tokens: one implementation for the CLI
 * (which opens the store itself) and the HTTP admin routes. Importable
 * without Fastify.
 */
import { randomUUID } from 'node:crypto';
import { JobqError, isJobqError } from '../../contracts/errors.js';
import type { ApiToken, Store } from '../../contracts/store.js';
import { NAME_PATTERN } from '../../core/options.js';
import { isScope, SCOPES, type Scope } from './scopes.js';
import { hashSecret, MIN_SECRET_LENGTH, newSecret, sameHash } from './secrets.js';

/** A token as shown to people: never its hash, never its secret. */
export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  queues: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface TokenInput {
  name: string;
  scopes: readonly string[];
  /** Limit the token to these queues; omitted or null: every queue. */
  queues?: readonly string[] | null;
}

/** The token created with it: the secret is in this answer and nowhere else, ever. */
export interface CreatedToken {
  token: TokenView;
  secret: string;
}

/** The name JOBQ_ADMIN_TOKEN's token is stored under. */
export const ENV_ADMIN_NAME = 'JOBQ_ADMIN_TOKEN';

export function tokenView(t: ApiToken): TokenView {
  return { id: t.id, name: t.name, scopes: t.scopes, queues: t.queues, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt };
}

function invalid(field: string, message: string): JobqError {
  return new JobqError('invalid_request', message, { details: { field } });
}

/** Checks a token's definition; names the bad field. */
export function checkTokenInput(input: TokenInput): { name: string; scopes: Scope[]; queues: string[] | null } {
  if (typeof input.name !== 'string' || input.name.length > 128 || !NAME_PATTERN.test(input.name)) {
    throw invalid('name', 'name must be 1 to 128 letters, digits, "_", ".", ":" or "-", starting with a letter or a digit');
  }
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) throw invalid('scopes', `scopes must name at least one of ${SCOPES.join(', ')}`);
  for (const s of scopes) if (!isScope(s)) throw invalid('scopes', `unknown scope "${s}"; scopes are ${SCOPES.join(', ')}`);
  let queues: string[] | null = null;
  if (input.queues !== undefined && input.queues !== null) {
    queues = [...new Set(input.queues)];
    if (queues.length === 0) throw invalid('queues', 'queues must name at least one queue (leave it out for every queue)');
    for (const q of queues) if (q.length > 128 || !NAME_PATTERN.test(q)) throw invalid('queues', `bad queue name "${q}"`);
  }
  return { name: input.name, scopes: scopes as Scope[], queues };
}

export class TokenService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: TokenInput): Promise<CreatedToken> {
    const def = checkTokenInput(input);
    const secret = newSecret();
    const token: ApiToken = { id: randomUUID(), ...def, hash: hashSecret(secret), createdAt: this.now(), lastUsedAt: null, revokedAt: null };
    await this.store.tokenInsert(token);
    return { token: tokenView(token), secret };
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<TokenView[]> {
    return (await this.store.tokenList({ includeRevoked: options.includeRevoked ?? false })).map(tokenView);
  }

  /** Revokes the live token of that name; not_found when there is none. */
  async revoke(name: string): Promise<TokenView> {
    const t = await this.store.tokenRevoke({ name, now: this.now() });
    if (!t) throw new JobqError('not_found', `no live token named "${name}"`);
    return tokenView(t);
  }

  /**
   * Makes sure JOBQ_ADMIN_TOKEN's secret is a live admin token: stored
   * under ENV_ADMIN_NAME, replacing an earlier secret. A secret that was
   * revoked stays revoked: 'revoked' tells the caller to say so.
   */
  async seedAdmin(secret: string): Promise<'created' | 'kept' | 'revoked'> {
    if (secret.length < MIN_SECRET_LENGTH) throw invalid(ENV_ADMIN_NAME, `JOBQ_ADMIN_TOKEN must be at least ${MIN_SECRET_LENGTH} characters`);
    const hash = hashSecret(secret);
    for (let attempt = 0; ; attempt++) {
      const mine = (await this.store.tokenList({ includeRevoked: true })).find((t) => t.name === ENV_ADMIN_NAME);
      if (mine && sameHash(mine.hash, hash)) return mine.revokedAt === null ? 'kept' : 'revoked';
      if (mine && mine.revokedAt === null) await this.store.tokenRevoke({ name: ENV_ADMIN_NAME, now: this.now() });
      try {
        await this.store.tokenInsert({ id: randomUUID(), name: ENV_ADMIN_NAME, hash, scopes: ['admin'], queues: null, createdAt: this.now(), lastUsedAt: null, revokedAt: null });
        return 'created';
      } catch (err) {
        // Another node seeding the same secret at the same moment: look again.
        if (!isJobqError(err, 'conflict') || attempt >= 2) throw err;
      }
    }
  }
}
