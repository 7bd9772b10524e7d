/**
 * The SQLite page cache is set, not left at better-sqlite3's build default
 * (16,000 KiB, which a worker fills as its database grows), and a bad size
 * is refused before any file is created.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import type Database from 'better-sqlite3';
import { isJobqError } from '../../src/contracts/errors.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';

/** The store's own connection's cache_size (negative: KiB). */
const cacheSize = (store: SqliteStore) => (store as unknown as { c: { db: Database.Database } }).c.db.pragma('cache_size', { simple: true });

it('sqlite: a 2,000 KiB page cache by default, the size given otherwise', async () => {
  const dir = tempDir();
  const byDefault = new SqliteStore({ path: dir.file('a.db') });
  const given = new SqliteStore({ path: dir.file('b.db'), cacheKiB: 512 });
  try {
    assert.equal(cacheSize(byDefault), -2000);
    assert.equal(cacheSize(given), -512);
  } finally {
    await byDefault.close();
    await given.close();
    dir.remove();
  }
});

it('sqlite: a page cache under 64 KiB or not whole is refused, and no database file is created', () => {
  const dir = tempDir();
  try {
    for (const cacheKiB of [10, 1.5, Number.NaN]) {
      const path = dir.file(`bad-${cacheKiB}.db`);
      assert.throws(
        () => new SqliteStore({ path, cacheKiB }),
        (err: unknown) => isJobqError(err) && err.code === 'invalid_option' && /cacheKiB/.test(err.message),
        `cacheKiB ${cacheKiB} is refused`,
      );
      assert.equal(existsSync(path), false, `no file for cacheKiB ${cacheKiB}`);
    }
  } finally {
    dir.remove();
  }
});
