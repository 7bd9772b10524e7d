/** API tokens on SQLite (migration 5's `tokens` table). Scopes and queues are JSON text. */
import type { ApiToken } from '../../contracts/store.js';
import { tokenTaken } from '../token-conflict.js';
import { rowToToken as toToken, type TokenRow as Row } from '../token-row.js';
import type { SqliteConn } from './conn.js';

const COLUMNS = 'id, name, hash, scopes, queues, created_at, last_used_at, revoked_at';

export async function tokenInsert(c: SqliteConn, t: ApiToken): Promise<void> {
  try {
    await c.durable(() => {
      // Params: name. A revoked token gives its name up to the next one.
      c.stmt('DELETE FROM tokens WHERE name = @name AND revoked_at IS NOT NULL').run({ name: t.name });
      // Params: the token's columns.
      c.stmt(`INSERT INTO tokens (${COLUMNS}) VALUES (@id, @name, @hash, @scopes, @queues, @createdAt, @lastUsedAt, @revokedAt)`).run({
        ...t,
        scopes: JSON.stringify(t.scopes),
        queues: t.queues === null ? null : JSON.stringify(t.queues),
      });
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw tokenTaken(t.name, err);
    throw err;
  }
}

export function tokenList(c: SqliteConn, p: { includeRevoked: boolean }): ApiToken[] {
  // Params: all (1: revoked ones too).
  const rows = c.read(() => c.stmt(`SELECT ${COLUMNS} FROM tokens WHERE @all = 1 OR revoked_at IS NULL ORDER BY name`).all({ all: p.includeRevoked ? 1 : 0 }) as Row[]);
  return rows.map(toToken);
}

export async function tokenRevoke(c: SqliteConn, p: { name: string; now: number }): Promise<ApiToken | null> {
  // Params: name, now.
  const row = await c.durable(
    () => c.stmt(`UPDATE tokens SET revoked_at = @now WHERE name = @name AND revoked_at IS NULL RETURNING ${COLUMNS}`).get(p) as Row | undefined,
  );
  return row ? toToken(row) : null;
}

export function tokenTouch(c: SqliteConn, p: { ids: readonly string[]; now: number }): void {
  if (p.ids.length === 0) return;
  // Params: ids (JSON array), now.
  c.write(() =>
    c
      .stmt('UPDATE tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), @now) WHERE id IN (SELECT value FROM json_each(@ids))')
      .run({ ids: JSON.stringify(p.ids), now: p.now }),
  );
}
