/**
 * `npm run bench:stalls`: how long the server's event loop is held by the
 * heaviest requests the documented limits allow (16 MiB bodies, 1 MiB
 * payloads, 1,000-job batches, 500-job pages). A stalled loop delays every
 * other request and every lease heartbeat, so each must stay near 100 ms or
 * less. The server runs in this process, over real loopback, on SQLite; the
 * loop is watched by a 1 ms interval timer (the longest gap between two of
 * its ticks is how long the loop was held). Prints a table and
 * writes bench/results/stalls.json.
 */
import { Jobq } from '../src/core/jobq.js';
import { createHttpApp } from '../src/http/app.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../test/helpers/temp-dir.js';
import { writeResult } from './stats.js';

/** A JSON value of about `bytes` bytes made of tiny objects: the slowest shape to parse and serialize. */
function tinyObjects(bytes: number): unknown[] {
  return Array.from({ length: Math.floor(bytes / 8) }, () => ({ a: 1 }));
}

const dir = tempDir('jobq-stalls-');
const jobq = new Jobq({ store: new SqliteStore({ path: dir.file('stalls.db') }), queues: {} });
const app = await createHttpApp({ jobq });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
async function measure(name: string, send: () => Promise<Response>): Promise<[string, number, number]> {
  await new Promise((r) => setTimeout(r, 50));
  let last = performance.now();
  let maxMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxMs = Math.max(maxMs, now - last);
    last = now;
  }, 1);
  const res = await send();
  await res.arrayBuffer();
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(ticker);
  process.stderr.write(`${name}: HTTP ${res.status}, loop held at most ${maxMs.toFixed(1)} ms\n`);
  return [name, res.status, maxMs];
}

const post = (body: string) => () => fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const rows: [string, number, number][] = [];
const bigPayload = tinyObjects(1_000_000);
rows.push(await measure('16 MiB batch of 1M tiny jobs (refused: batch too large)', post(JSON.stringify(Array.from({ length: 2_000_000 }, () => ({ type: 'a' }))).slice(0, 16 * 1024 * 1024 - 2) + '{}]')));
rows.push(await measure('15 jobs × 1 MiB payloads of tiny objects in one body (accepted)', post(JSON.stringify(Array.from({ length: 15 }, () => ({ type: 'a', payload: bigPayload }))))));
rows.push(await measure('1,000-job batch of small payloads (accepted)', post(JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ type: 'a', payload: { i, to: 'someone@example.com' } }))))));
rows.push(await measure('single job, 1 MiB payload of tiny objects (accepted)', post(JSON.stringify({ type: 'a', payload: bigPayload }))));
const { id } = (await (await post(JSON.stringify({ type: 'a', payload: bigPayload }))()).json()) as { id: string };
rows.push(await measure('GET one job with a 1 MiB payload of tiny objects', () => fetch(`${url}/v1/jobs/${id}`)));
rows.push(await measure('GET /v1/jobs?limit=500&include=payload over 1 MiB payloads', () => fetch(`${url}/v1/jobs?limit=500&include=payload`)));
rows.push(await measure('GET /v1/jobs?limit=500 (no payloads)', () => fetch(`${url}/v1/jobs?limit=500`)));
await app.close();
await jobq.close();
dir.remove();

const table = ['| request | HTTP | event loop held, max ms |', '| --- | ---: | ---: |', ...rows.map(([n, s, ms]) => `| ${n} | ${s} | ${ms.toFixed(1)} |`)].join('\n');
process.stdout.write(`${table}\n`);
writeResult('stalls', { rows });
