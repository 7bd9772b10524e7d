/**
 * Issue #7, item 5: the memory store is bounded in bytes, not only in jobs:
 * --memory-max-bytes (JOBQ_MEMORY_MAX_BYTES, default 268435456).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { spawnServer } from '../helpers/spawn-server.js';

const MIB = 1024 * 1024;
/** A payload whose JSON is exactly 1 MiB (the default --max-payload-bytes). */
const payload = (i: number) => `${i}:`.padEnd(MIB - 2, 'x');

async function fillUntil429(url: string) {
  const created: string[] = [];
  let refusal: { status: number; body: any; text: string } | undefined;
  for (let i = 0; i < 20 && !refusal; i++) {
    const res = await http(url, 'POST', '/v1/jobs', { type: 'noop', queue: 'idle', payload: payload(i) });
    if (res.status === 201) created.push(res.body.id);
    else refusal = res;
  }
  return { created, refusal };
}

for (const how of ['flag', 'env'] as const) {
  it(`memory store with ${how === 'flag' ? '--memory-max-bytes' : 'JOBQ_MEMORY_MAX_BYTES='} 8388608: 1 MiB jobs get 429 capacity_exceeded before 9 are stored; the process stays up and every 201 is readable`, async () => {
    const srv =
      how === 'flag'
        ? await spawnServer(['--store', 'memory', '--memory-max-bytes', '8388608', '--queues', 'idle'])
        : await spawnServer(['--store', 'memory', '--queues', 'idle'], { env: { JOBQ_MEMORY_MAX_BYTES: '8388608' } });
    try {
      const { created, refusal } = await fillUntil429(srv.url);
      console.log(`memory store, 8 MiB: ${created.length} jobs of 1 MiB stored, then ${refusal?.status ?? 'no refusal'}`);
      assert.ok(refusal, `no refusal after ${created.length} jobs of 1 MiB`);
      assert.equal(refusal.status, 429, refusal.text.slice(0, 200));
      assert.equal(refusal.body.error.code, 'capacity_exceeded');
      assert.ok(created.length >= 1 && created.length < 9, `stored ${created.length} 1 MiB jobs under an 8 MiB limit`);
      assert.equal((await http(srv.url, 'GET', '/healthz')).status, 200);
      assert.equal(srv.child.exitCode, null, 'still running');
      for (const [i, id] of created.entries()) {
        const res = await http(srv.url, 'GET', `/v1/jobs/${id}`);
        assert.equal(res.status, 200);
        assert.equal(res.body.payload, payload(i), `job ${i} reads back whole`);
      }
    } finally {
      srv.child.kill('SIGKILL');
    }
  });
}

it('memory store: --memory-max-bytes is checked at start (a bad value: exit 2 naming it)', async () => {
  await assert.rejects(spawnServer(['--store', 'memory', '--memory-max-bytes', 'lots']), /invalid --memory-max-bytes \(JOBQ_MEMORY_MAX_BYTES\)/);
});
