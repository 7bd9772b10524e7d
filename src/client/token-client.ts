/** API tokens through the admin routes (`client.tokens`); the same as `jobq token create|list|revoke`. */
import type { Transport } from './transport.js';

export interface TokenJson {
  id: string;
  name: string;
  scopes: string[];
  /** The queues it may touch; null: every queue. */
  queues: string[] | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface TokenInputJson {
  name: string;
  /** jobs:read, jobs:write, worker, admin, metrics. */
  scopes: readonly string[];
  /** Limit it to these queues. @defaultValue every queue */
  queues?: readonly string[] | null;
}

export class TokenClient {
  constructor(private readonly http: Transport) {}

  /** The answer holds the secret, shown this once. */
  create(input: TokenInputJson): Promise<{ token: TokenJson; secret: string }> {
    return this.http.request('POST', '/v1/tokens', input);
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<TokenJson[]> {
    return (await this.http.request<{ tokens: TokenJson[] }>('GET', `/v1/tokens${options.includeRevoked ? '?includeRevoked=true' : ''}`)).tokens;
  }

  revoke(name: string): Promise<TokenJson> {
    return this.http.request('POST', `/v1/tokens/${encodeURIComponent(name)}/revoke`);
  }
}
