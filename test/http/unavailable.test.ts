/** The 503s: a store that stopped answering, and a Jobq that is shutting down. Nothing else breaks. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Jobq } from '../../src/core/jobq.js';
import { createHttpApp } from '../../src/http/app.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';

async function appOver(jobq: Jobq) {
  return createHttpApp({ jobq });
}

it('answers 503 store_unavailable when the database is gone, without leaking details', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ path: dir.file('jobs.db') });
  const jobq = new Jobq({ store });
  const app = await appOver(jobq);
  await store.close();
  const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 't' } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'store_unavailable');
  const get = await app.inject({ method: 'GET', url: '/v1/jobs/01a220d3-7e06-778c-9a6a-4e00307d52cc' });
  assert.equal(get.statusCode, 503);
  assert.doesNotMatch(get.body, /SQLITE|at /);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  await app.close();
  dir.remove();
});

it('answers 503 shutting_down to an enqueue after close began', async () => {
  const dir = tempDir();
  const jobq = new Jobq({ store: new SqliteStore({ path: dir.file('jobs.db') }) });
  const app = await appOver(jobq);
  await jobq.close();
  const res = await app.inject({ method: 'POST', url: '/enqueue' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'shutting_down');
  await app.close();
  dir.remove();
});
