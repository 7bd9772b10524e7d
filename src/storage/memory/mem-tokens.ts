/** API tokens of the memory store (gone with the process, like its jobs). */
import type { ApiToken } from '../../contracts/store.js';
import { tokenTaken } from '../token-conflict.js';

const copy = (t: ApiToken): ApiToken => ({ ...t, scopes: [...t.scopes], queues: t.queues ? [...t.queues] : null });

export class MemTokens {
  private readonly byName = new Map<string, ApiToken>();

  insert(t: ApiToken): void {
    const held = this.byName.get(t.name);
    if (held && held.revokedAt === null) throw tokenTaken(t.name);
    for (const other of this.byName.values()) if (other.hash === t.hash && other !== held) throw tokenTaken(t.name);
    this.byName.set(t.name, copy(t));
  }

  list(p: { includeRevoked: boolean }): ApiToken[] {
    return [...this.byName.values()]
      .filter((t) => p.includeRevoked || t.revokedAt === null)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(copy);
  }

  revoke(p: { name: string; now: number }): ApiToken | null {
    const t = this.byName.get(p.name);
    if (!t || t.revokedAt !== null) return null;
    t.revokedAt = p.now;
    return copy(t);
  }

  touch(p: { ids: readonly string[]; now: number }): void {
    const ids = new Set(p.ids);
    for (const t of this.byName.values()) if (ids.has(t.id)) t.lastUsedAt = Math.max(t.lastUsedAt ?? 0, p.now);
  }
}
