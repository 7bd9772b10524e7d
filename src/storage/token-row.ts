/** The SQL backends' token row (scopes and queues as JSON text) and its mapping to ApiToken. */
import type { ApiToken } from '../contracts/store.js';

export interface TokenRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  queues: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export const rowToToken = (r: TokenRow): ApiToken => ({
  id: r.id,
  name: r.name,
  hash: r.hash,
  scopes: JSON.parse(r.scopes) as string[],
  queues: r.queues === null ? null : (JSON.parse(r.queues) as string[]),
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});
