/**
 * Issue #7, item 9: /v1/queues answers a page at a time, and the number of
 * distinct queues is bounded (--max-queues, JOBQ_MAX_QUEUES, default 10000).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';

it('GET /v1/queues?limit=2 returns 2 queues and a nextCursor; following it lists every queue once, names ascending', async () => {
  const dir = tempDir();
  // The queue it works is one of the listed ones, so a server that registers its own queues lists no extra name.
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'q-a']);
  try {
    const names = ['q-e', 'q-a', 'q-d', 'q-b', 'q-c'];
    for (const queue of names) assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue })).status, 201);
    assert.equal((await http(srv.url, 'POST', '/v1/queues/q-f/pause')).status, 200); // a queue with no jobs, only a flag
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await http(srv.url, 'GET', `/v1/queues?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.queues.length <= 2, `page ${pages} holds ${res.body.queues.length} queues`);
      if (pages === 0) {
        assert.equal(res.body.queues.length, 2);
        assert.equal(typeof res.body.nextCursor, 'string', `a nextCursor on the first page: ${res.text.slice(0, 200)}`);
      }
      seen.push(...res.body.queues.map((q: { name: string }) => q.name));
      cursor = res.body.nextCursor ?? null;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(seen, ['q-a', 'q-b', 'q-c', 'q-d', 'q-e', 'q-f'], 'every queue once, ascending');
    const bad = await http(srv.url, 'GET', '/v1/queues?limit=0');
    assert.equal(bad.status, 400);
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

for (const how of ['flag', 'env'] as const) {
  it(`${how === 'flag' ? '--max-queues 5' : 'JOBQ_MAX_QUEUES=5'}: a 6th distinct queue (enqueue or pause) gets 429 capacity_exceeded; the 5 keep working`, async () => {
    const dir = tempDir();
    const srv =
      how === 'flag'
        ? await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'a', '--max-queues', '5'])
        : await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'a'], { env: { JOBQ_MAX_QUEUES: '5' } });
    try {
      for (const queue of ['a', 'b', 'c', 'd']) assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue })).status, 201);
      assert.equal((await http(srv.url, 'POST', '/v1/queues/e/pause')).status, 200, 'the 5th queue, by pausing it');
      const sixth = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue: 'f' });
      assert.equal(sixth.status, 429, sixth.text);
      assert.equal(sixth.body.error.code, 'capacity_exceeded');
      const sixthInBatch = await http(srv.url, 'POST', '/v1/jobs', [{ type: 'noop', queue: 'a' }, { type: 'noop', queue: 'g' }]);
      assert.equal(sixthInBatch.status, 429, 'a batch naming a 6th queue is refused whole');
      const pause6 = await http(srv.url, 'POST', '/v1/queues/h/pause');
      assert.equal(pause6.status, 429, pause6.text);
      assert.equal(pause6.body.error.code, 'capacity_exceeded');
      for (const queue of ['a', 'b', 'c', 'd', 'e']) assert.equal((await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', queue })).status, 201, `queue ${queue} still takes jobs`);
      assert.equal((await http(srv.url, 'POST', '/v1/queues/a/pause')).status, 200);
      assert.equal((await http(srv.url, 'POST', '/v1/queues/e/resume')).status, 200);
      const listed = await http(srv.url, 'GET', '/v1/queues');
      const names = listed.body.queues.map((q: { name: string }) => q.name);
      assert.deepEqual(names, ['a', 'b', 'c', 'd', 'e'], 'nothing of the refused queues was stored');
      const all = await http(srv.url, 'GET', '/v1/jobs?limit=500');
      assert.equal(all.body.jobs.length, 9, '4 + 5 jobs; none from the refused requests');
    } finally {
      srv.child.kill('SIGKILL');
      dir.remove();
    }
  });
}
