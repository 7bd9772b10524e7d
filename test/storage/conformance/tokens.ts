/** Conformance: API tokens as stored (the secret never is; only its hash). */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isJobqError } from '../../../src/contracts/errors.js';
import type { ApiToken } from '../../../src/contracts/store.js';
import { peer, T0, type Ctx } from './ctx.js';

const token = (name: string, extra: Partial<ApiToken> = {}): ApiToken => ({
  id: randomUUID(),
  name,
  hash: createHash('sha256').update(`secret of ${name} ${randomUUID()}`).digest('hex'),
  scopes: ['jobs:read', 'worker'],
  queues: null,
  createdAt: T0,
  lastUsedAt: null,
  revokedAt: null,
  ...extra,
});

const conflict = (err: unknown) => isJobqError(err, 'conflict');

export function tokenSection(ctx: Ctx): void {
  describe('tokens', () => {
    it('stores tokens and lists them by name, scopes and queues as given', async () => {
      const b = token('b-ci', { queues: ['mail', 'default'] });
      const a = token('a-admin', { scopes: ['admin'] });
      const upper = token('Z-upper');
      for (const t of [b, a, upper]) await ctx.store.tokenInsert(t);
      // Byte order: upper-case before lower-case, on every backend.
      assert.deepEqual(await ctx.store.tokenList({ includeRevoked: false }), [upper, a, b]);
    });

    it('refuses a second live token of a name, or a secret already used, with conflict', async () => {
      const first = token('ci');
      await ctx.store.tokenInsert(first);
      await assert.rejects(ctx.store.tokenInsert(token('ci')), conflict);
      await assert.rejects(ctx.store.tokenInsert(token('other', { hash: first.hash })), conflict);
      assert.deepEqual((await ctx.store.tokenList({ includeRevoked: true })).map((t) => t.id), [first.id], 'nothing of the refused inserts stored');
    });

    it('revokes the live token of a name once; revoked ones are listed only when asked, and give their name up', async () => {
      const ci = token('ci');
      await ctx.store.tokenInsert(ci);
      await ctx.store.tokenInsert(token('keep'));
      assert.deepEqual(await ctx.store.tokenRevoke({ name: 'ci', now: T0 + 5 }), { ...ci, revokedAt: T0 + 5 });
      assert.equal(await ctx.store.tokenRevoke({ name: 'ci', now: T0 + 6 }), null, 'already revoked');
      assert.equal(await ctx.store.tokenRevoke({ name: 'nobody', now: T0 + 6 }), null);
      assert.deepEqual((await ctx.store.tokenList({ includeRevoked: false })).map((t) => t.name), ['keep']);
      assert.deepEqual((await ctx.store.tokenList({ includeRevoked: true })).map((t) => [t.name, t.revokedAt]), [
        ['ci', T0 + 5],
        ['keep', null],
      ]);
      const again = token('ci', { createdAt: T0 + 10 });
      await ctx.store.tokenInsert(again);
      const listed = await ctx.store.tokenList({ includeRevoked: true });
      assert.deepEqual(listed.map((t) => [t.name, t.revokedAt]), [
        ['ci', null],
        ['keep', null],
      ]);
      assert.deepEqual(listed[0], again, 'the new token took the revoked one\'s name');
    });

    it('records uses: lastUsedAt only moves forward; unknown ids are ignored', async () => {
      const a = token('a');
      const b = token('b');
      await ctx.store.tokenInsert(a);
      await ctx.store.tokenInsert(b);
      await ctx.store.tokenTouch({ ids: [a.id, randomUUID()], now: T0 + 100 });
      await ctx.store.tokenTouch({ ids: [a.id], now: T0 + 50 });
      await ctx.store.tokenTouch({ ids: [], now: T0 + 200 });
      assert.deepEqual((await ctx.store.tokenList({ includeRevoked: false })).map((t) => [t.name, t.lastUsedAt]), [
        ['a', T0 + 100],
        ['b', null],
      ]);
    });

    it('a revocation through one handle is seen through another (shared stores)', async (t) => {
      const other = await peer(ctx);
      if (!other) return t.skip('the memory store is one process: nothing to share');
      await ctx.store.tokenInsert(token('ci'));
      assert.deepEqual((await other.tokenList({ includeRevoked: false })).map((x) => x.name), ['ci']);
      await other.tokenRevoke({ name: 'ci', now: T0 + 1 });
      assert.deepEqual(await ctx.store.tokenList({ includeRevoked: false }), []);
    });
  });
}
