/** API tokens on Postgres (migration 6's `tokens` table). */
import type pg from 'pg';
import type { ApiToken } from '../../contracts/store.js';
import { tokenTaken } from '../token-conflict.js';
import { rowToToken as toToken, type TokenRow as Row } from '../token-row.js';

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;
type Transaction = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

/** jsonb comes back as text (the store's type parsers leave JSON to the caller). */
const COLUMNS = 'id::text AS id, name, hash, scopes, queues, created_at, last_used_at, revoked_at';

export class PgTokens {
  constructor(
    private readonly query: Query,
    private readonly transaction: Transaction,
    private readonly s: string,
  ) {}

  async insert(t: ApiToken): Promise<void> {
    try {
      await this.transaction(async (c) => {
        // Params: $1 name. A revoked token gives its name up to the next one.
        await c.query(`DELETE FROM ${this.s}.tokens WHERE name = $1 AND revoked_at IS NOT NULL`, [t.name]);
        // Params: the token's columns.
        await c.query(
          `INSERT INTO ${this.s}.tokens (id, name, hash, scopes, queues, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)`,
          [t.id, t.name, t.hash, JSON.stringify(t.scopes), t.queues === null ? null : JSON.stringify(t.queues), t.createdAt, t.lastUsedAt, t.revokedAt],
        );
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw tokenTaken(t.name, err);
      throw err;
    }
  }

  async list(p: { includeRevoked: boolean }): Promise<ApiToken[]> {
    // Params: $1 include revoked ones.
    const { rows } = await this.query<Row>(`SELECT ${COLUMNS} FROM ${this.s}.tokens WHERE $1 OR revoked_at IS NULL ORDER BY name COLLATE "C"`, [p.includeRevoked]);
    return rows.map(toToken);
  }

  async revoke(p: { name: string; now: number }): Promise<ApiToken | null> {
    // Params: $1 name, $2 now.
    const { rows } = await this.query<Row>(`UPDATE ${this.s}.tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`, [p.name, p.now]);
    return rows[0] ? toToken(rows[0]) : null;
  }

  async touch(p: { ids: readonly string[]; now: number }): Promise<void> {
    if (p.ids.length === 0) return;
    // Params: $1 ids, $2 now.
    await this.query(`UPDATE ${this.s}.tokens SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = ANY($1::uuid[])`, [p.ids, p.now]);
  }
}
