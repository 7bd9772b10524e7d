/**
 * The Postgres store loads the pg driver without Node's fetch (storage/postgres/driver.ts):
 * a store opened, used and closed in a fresh process has not loaded undici, and the
 * process's global `navigator` is as it was before.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, it } from 'node:test';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

const STORE = new URL('../../src/storage/postgres/index.js', import.meta.url).href;

it('a Postgres store, opened and used, loads no fetch implementation and leaves no navigator behind', async () => {
  const url = await testDatabaseUrl();
  const code = `
    const before = typeof globalThis.navigator;
    const { PostgresStore } = await import(${JSON.stringify(STORE)});
    const store = await PostgresStore.open({ connectionString: process.env.URL, schema: process.env.SCHEMA });
    await store.ping();
    await store.close();
    console.log(JSON.stringify({ before, after: typeof globalThis.navigator, undici: process.moduleLoadList.filter((m) => m.includes('undici')) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, URL: url, SCHEMA: freshSchema() } });
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: string; after: string; undici: string[] };
  assert.deepEqual(seen.undici, []);
  assert.equal(seen.after, seen.before);
});
