/**
 * Issue #7, item 2: Postgres replies lost on the way back (the statement ran,
 * the connection was reset before jobq saw the answer). A TCP proxy between
 * the node and Postgres drops exactly one chosen reply and resets the socket.
 */
import assert from 'node:assert/strict';
import { after, afterEach, it } from 'node:test';
import { makeBackend, report, statusCounts, type Backend } from '../chaos/backends.js';
import { http } from '../helpers/http-server.js';
import { stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { FIXTURE_HANDLERS, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { startTcpProxy, type ReplyInfo, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait-for.js';
import { runLog } from './support.js';

after(stopSharedCluster);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A Postgres backend whose node connects through a fresh proxy; the test reads the store directly. */
async function proxied(): Promise<{ b: Backend; proxy: TcpProxy; args: string[] }> {
  const b = await makeBackend('postgres');
  const url = await testDatabaseUrl();
  const u = new URL(url);
  const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
  cleanups.push(() => proxy.close());
  const schemaAt = b.args.indexOf('--pg-schema');
  const args = ['--store', 'postgres', '--database-url', proxy.url(url), '--pg-schema', b.args[schemaAt + 1]!];
  return { b, proxy, args };
}

/** A reply that handed jobs to a worker: UPDATE of some rows returning whole job rows (their lease among them). */
const isClaimReply = (r: ReplyInfo) => /^UPDATE [1-9]/.test(r.tag) && r.fields.length >= 10;

/** The jobs as stored (read through a store on the same schema), null where missing. */
async function jobsOf(b: Backend, ids: string[]): Promise<({ status: string; attempts: number } | null)[]> {
  const store = await b.open();
  try {
    return await Promise.all(ids.map((id) => store.jobGet(id)));
  } finally {
    await store.close();
  }
}

async function enqueue(node: ServerProcess, n: number, type: string, payload: unknown): Promise<string[]> {
  const res = await http(node.url, 'POST', '/v1/jobs', Array.from({ length: n }, () => ({ type, payload })));
  assert.equal(res.status, 201, res.text);
  return (res.body.jobs as { id: string }[]).map((j) => j.id);
}

function summarize(counts: Map<string, number>, ids: string[]) {
  return { duplicated: ids.filter((id) => (counts.get(id) ?? 0) > 1).length, neverRan: ids.filter((id) => !counts.has(id)).length };
}

it('postgres: the reply to a claim is lost: all 20 jobs complete, each ran exactly once, each with attempts 1', async () => {
  const { b, proxy, args } = await proxied();
  const log = runLog();
  cleanups.push(() => log.remove());
  const node = await spawnServer([...args, '--handlers', FIXTURE_HANDLERS, '--concurrency', '10', '--lease-ms', '1500', '--rescue-interval-ms', '200'], { env: log.env });
  cleanups.push(() => node.child.kill('SIGKILL'));
  assert.equal((await http(node.url, 'POST', '/v1/queues/default/pause')).status, 200);
  const ids = await enqueue(node, 20, 'recordRun', null);
  const lostClaim = proxy.arm({ tag: 'UPDATE', when: isClaimReply });
  assert.equal((await http(node.url, 'POST', '/v1/queues/default/resume')).status, 200);
  const [hit] = await lostClaim;
  console.log(`lost reply: ${hit!.tag} (${hit!.fields.length} columns)`);

  await waitFor(async () => (await statusCounts(b)).completed === 20, { what: 'all 20 completed', timeoutMs: 20_000, intervalMs: 100 }).catch(async (err: Error) => {
    throw new Error(`${err.message}; counts ${JSON.stringify(await statusCounts(b))}`);
  });
  const jobs = await jobsOf(b, ids);
  const counts = log.counts();
  const { duplicated, neverRan } = summarize(counts, ids);
  const stuck = (await statusCounts(b)).processing ?? 0;
  report('claim reply lost (connection reset)', 'postgres', { runs: 1, acknowledged: ids.length, lost: jobs.filter((j) => !j).length, duplicated, stuck });
  assert.equal(duplicated, 0, 'no job ran twice');
  assert.equal(neverRan, 0, 'every job ran');
  const attempts = jobs.map((j) => j?.attempts);
  assert.deepEqual(
    attempts,
    ids.map(() => 1),
    `attempts is 1 for each: a lease that expired on a job that never started must not spend an attempt (got ${JSON.stringify(attempts)})`,
  );
});

it('postgres: the reply to an enqueue (the INSERT) is lost: 201 and the job exists once, or an error and no duplicate', async () => {
  const { b, proxy, args } = await proxied();
  const node = await spawnServer([...args, '--queues', 'idle']);
  cleanups.push(() => node.child.kill('SIGKILL'));
  const marker = `lost-insert-${Date.now()}`; // the job's type, unique to this test
  const lostInsert = proxy.arm({ tag: '', when: (r) => /insert\s+into\s+\S*jobs\b/i.test(r.sql) });
  const res = await http(node.url, 'POST', '/v1/jobs', { type: marker, queue: 'idle' });
  const [hit] = await lostInsert; // rejects (naming what it saw) if no enqueue statement went by
  assert.ok(hit, 'the proxy saw and dropped the reply to the enqueue statement');
  console.log(`lost reply: ${hit.tag}; HTTP answer ${res.status}`);
  const page = await http(node.url, 'GET', '/v1/jobs?queue=idle&limit=500');
  assert.equal(page.status, 200, page.text.slice(0, 200));
  const copies = page.body.jobs.filter((j: { type: string }) => j.type === marker).length;
  if (res.status === 201) {
    const [job] = await jobsOf(b, [res.body.id]);
    assert.ok(job, 'the acknowledged job exists');
  }
  report('enqueue reply lost (connection reset)', 'postgres', { runs: 1, acknowledged: res.status === 201 ? 1 : 0, lost: res.status === 201 && copies === 0 ? 1 : 0, duplicated: Math.max(0, copies - 1), stuck: 0 });
  assert.ok(res.status === 201 || res.status === 503, `201 or 503, got ${res.status} ${res.text}`);
  if (res.status === 201) assert.equal(copies, 1, 'acknowledged: stored exactly once');
  else assert.ok(copies <= 1, `not acknowledged: at most one copy (${copies})`);
});

it('postgres: the reply to a finish is lost: every job still ends completed, none lost, none stuck, none ran twice', async () => {
  const { b, proxy, args } = await proxied();
  const log = runLog();
  cleanups.push(() => log.remove());
  const node = await spawnServer([...args, '--handlers', FIXTURE_HANDLERS, '--concurrency', '10', '--lease-ms', '1500', '--rescue-interval-ms', '200'], { env: log.env });
  cleanups.push(() => node.child.kill('SIGKILL'));
  assert.equal((await http(node.url, 'POST', '/v1/queues/default/pause')).status, 200);
  const ids = await enqueue(node, 20, 'recordRun', null);
  // Any UPDATE of some rows that is not a claim: with 2 ms jobs and a 500 ms heartbeat, that is a finish.
  const lostFinish = proxy.arm({ tag: 'UPDATE', when: (r) => /^UPDATE [1-9]/.test(r.tag) && !isClaimReply(r) });
  assert.equal((await http(node.url, 'POST', '/v1/queues/default/resume')).status, 200);
  const [hit] = await lostFinish;
  console.log(`lost reply: ${hit!.tag} (${hit!.fields.join(',')})`);
  await waitFor(async () => (await statusCounts(b)).completed === 20, { what: 'all 20 completed', timeoutMs: 20_000, intervalMs: 100 }).catch(async (err: Error) => {
    throw new Error(`${err.message}; counts ${JSON.stringify(await statusCounts(b))}`);
  });
  const jobs = await jobsOf(b, ids);
  const { duplicated, neverRan } = summarize(log.counts(), ids);
  const stuck = (await statusCounts(b)).processing ?? 0;
  report('finish reply lost (connection reset)', 'postgres', { runs: 1, acknowledged: ids.length, lost: jobs.filter((j) => !j).length, duplicated, stuck });
  assert.equal(jobs.filter((j) => j?.status !== 'completed').length, 0);
  assert.equal(duplicated, 0, 'no job ran twice');
  assert.equal(neverRan, 0);
  assert.equal(stuck, 0);
});

it('postgres: the reply to a heartbeat is lost: the running jobs keep their leases and complete once', async () => {
  const { b, proxy, args } = await proxied();
  const log = runLog();
  cleanups.push(() => log.remove());
  const node = await spawnServer([...args, '--handlers', FIXTURE_HANDLERS, '--concurrency', '10', '--lease-ms', '1500', '--rescue-interval-ms', '200'], { env: log.env });
  cleanups.push(() => node.child.kill('SIGKILL'));
  const ids = await enqueue(node, 5, 'recordSlow', { ms: 2500 });
  await waitFor(async () => (await statusCounts(b)).processing === 5, { what: '5 jobs processing', timeoutMs: 10_000 });
  // All 5 run, none can finish before 2.5 s: the next UPDATE of rows is a heartbeat (every 500 ms).
  const [hit] = await proxy.arm({ tag: 'UPDATE', when: (r) => /^UPDATE [1-9]/.test(r.tag) && !isClaimReply(r) });
  console.log(`lost reply: ${hit!.tag} (${hit!.fields.join(',')})`);
  await waitFor(async () => (await statusCounts(b)).completed === 5, { what: 'all 5 completed', timeoutMs: 20_000, intervalMs: 100 }).catch(async (err: Error) => {
    throw new Error(`${err.message}; counts ${JSON.stringify(await statusCounts(b))}`);
  });
  const jobs = await jobsOf(b, ids);
  const { duplicated, neverRan } = summarize(log.counts(), ids);
  const stuck = (await statusCounts(b)).processing ?? 0;
  report('heartbeat reply lost (connection reset)', 'postgres', { runs: 1, acknowledged: ids.length, lost: jobs.filter((j) => !j).length, duplicated, stuck });
  assert.equal(duplicated, 0, 'no job ran twice');
  assert.equal(neverRan, 0);
  assert.equal(stuck, 0);
  assert.deepEqual(jobs.map((j) => j?.attempts), [1, 1, 1, 1, 1]);
});
