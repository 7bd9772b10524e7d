/**
 * Issue #7, item 6: list pages are bounded in bytes. Items leave out payload
 * and result unless asked for (include=payload / result / payload,result),
 * included JSON is capped at 4 MiB a page, and big pages do not starve leases.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { FIXTURE_HANDLERS, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { elapse, runLog } from './support.js';

const MIB = 1024 * 1024;
const bigPayload = (i: number) => ({ i, blob: 'x'.repeat(MIB - 64) });

/** 30 jobs of ~1 MiB in the queue "idle" (not worked), in two bulk requests. */
async function loadBigJobs(srv: ServerProcess): Promise<string[]> {
  const ids: string[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const jobs = Array.from({ length: 10 }, (_, k) => ({ type: 'noop', queue: 'idle', payload: bigPayload(batch * 10 + k) }));
    const res = await http(srv.url, 'POST', '/v1/jobs', jobs);
    assert.equal(res.status, 201, res.text.slice(0, 200));
    ids.push(...(res.body.jobs as { id: string }[]).map((j) => j.id));
  }
  return ids;
}

it('GET /v1/jobs leaves out payload and result unless include= names them; an unknown include is 400', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS]);
  try {
    const res = await http(srv.url, 'POST', '/v1/jobs', { type: 'noop', payload: { p: 1 } });
    assert.equal(res.status, 201);
    await waitFor(async () => (await http(srv.url, 'GET', `/v1/jobs/${res.body.id}`)).body.status === 'completed', { what: 'the job to complete' });
    const plain = await http(srv.url, 'GET', '/v1/jobs');
    assert.equal(plain.status, 200, plain.text);
    const item = plain.body.jobs[0];
    assert.equal(item.id, res.body.id);
    assert.ok(!('payload' in item), `no payload without include: ${JSON.stringify(Object.keys(item))}`);
    assert.ok(!('result' in item), 'no result without include');
    for (const [include, want] of [
      ['payload', ['payload']],
      ['result', ['result']],
      ['payload,result', ['payload', 'result']],
    ] as const) {
      const r = await http(srv.url, 'GET', `/v1/jobs?include=${include}`);
      assert.equal(r.status, 200, `include=${include}: ${r.text.slice(0, 200)}`);
      const j = r.body.jobs[0];
      for (const field of ['payload', 'result']) assert.equal(field in j, (want as readonly string[]).includes(field), `include=${include}: ${field}`);
      if ('payload' in j) assert.deepEqual(j.payload, { p: 1 });
    }
    const bad = await http(srv.url, 'GET', '/v1/jobs?include=secrets');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_request');
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

it('30 jobs of ~1 MiB, ?limit=500&include=payload: every page body < 6 MB, a page ends early with nextCursor, the cursors yield every job once', async () => {
  const dir = tempDir();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--queues', 'default']);
  try {
    const ids = await loadBigJobs(srv);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 40; page++) {
      const res = await http(srv.url, 'GET', `/v1/jobs?limit=500&include=payload${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text.slice(0, 200));
      sizes.push(Buffer.byteLength(res.text));
      assert.ok(Buffer.byteLength(res.text) < 6_000_000, `page ${page} is ${Buffer.byteLength(res.text)} bytes`);
      for (const j of res.body.jobs) {
        assert.equal(j.payload.blob.length, MIB - 64, 'the payload is included whole');
        seen.push(j.id);
      }
      cursor = res.body.nextCursor;
      if (!cursor) break;
      assert.ok(res.body.jobs.length < 500, 'a page with a cursor ended early');
    }
    console.log(`big pages: ${sizes.length} pages of ${sizes.map((s) => (s / MIB).toFixed(1)).join(', ')} MiB`);
    assert.ok(sizes.length > 1, 'more than one page');
    assert.deepEqual([...seen].sort(), [...ids].sort(), 'every job exactly once');
    assert.equal(new Set(seen).size, seen.length, 'no job twice');
  } finally {
    srv.child.kill('SIGKILL');
    dir.remove();
  }
});

it('leases survive big pages: 5 long jobs (lease 1.5 s) while 5 clients fetch big pages for 4 s: no job runs twice', async () => {
  const dir = tempDir();
  const log = runLog();
  const srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS, '--lease-ms', '1500', '--rescue-interval-ms', '200'], { env: log.env });
  try {
    await loadBigJobs(srv);
    const res = await http(srv.url, 'POST', '/v1/jobs', Array.from({ length: 5 }, () => ({ type: 'recordSlow', payload: { ms: 3000 } })));
    assert.equal(res.status, 201);
    const ids = (res.body.jobs as { id: string }[]).map((j) => j.id);
    await waitFor(() => log.counts().size === 5, { what: 'the 5 jobs to start' });
    let stop = false;
    let pages = 0;
    let bytes = 0;
    const clients = Array.from({ length: 5 }, async () => {
      while (!stop) {
        let cursor: string | null = null;
        do {
          const q: string = `limit=500&include=payload${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          let page = await http(srv.url, 'GET', `/v1/jobs?${q}`);
          // Without include support (before the fix) the same big page is the default one.
          if (page.status === 400) page = await http(srv.url, 'GET', `/v1/jobs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          assert.equal(page.status, 200, page.text.slice(0, 200));
          pages++;
          bytes += page.text.length;
          cursor = page.body.nextCursor;
        } while (cursor && !stop);
      }
    });
    await elapse(4000); // the load window
    stop = true;
    await Promise.all(clients);
    console.log(`big pages under load: ${pages} pages, ${(bytes / MIB).toFixed(0)} MiB served in 4 s`);
    await waitFor(async () => {
      const views = await Promise.all(ids.map(async (id) => (await http(srv.url, 'GET', `/v1/jobs/${id}`)).body.status));
      return views.every((s) => s === 'completed' || s === 'failed');
    }, { what: 'the 5 jobs to finish', timeoutMs: 20_000, intervalMs: 100 });
    const counts = log.counts();
    const twice = ids.filter((id) => (counts.get(id) ?? 0) > 1);
    assert.deepEqual(twice, [], `${twice.length} of 5 jobs ran twice (their lease expired while pages were served)`);
    for (const id of ids) assert.equal((await http(srv.url, 'GET', `/v1/jobs/${id}`)).body.status, 'completed');
  } finally {
    srv.child.kill('SIGKILL');
    log.remove();
    dir.remove();
  }
});
