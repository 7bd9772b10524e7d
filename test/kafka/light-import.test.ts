/** `import 'jobq'` never loads a Kafka client; `jobq/kafka` loads its own and no database driver. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('../../../test/fixtures/record-imports.mjs', import.meta.url));
const ENTRY = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;
const KAFKA = /node_modules\/(@platformatic\/kafka|@kafkats)\//;

function resolvedBy(entry: string): string[] {
  const r = spawnSync(process.execPath, ['--import', HOOK, '--input-type=module', '-e', `await import(${JSON.stringify(entry)});`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').filter((l) => l.startsWith('resolved ')).map((l) => l.slice('resolved '.length));
}

it("import 'jobq' loads no Kafka client", () => {
  assert.deepEqual(resolvedBy(ENTRY('index.js')).filter((u) => KAFKA.test(u)), []);
});

it("'jobq/kafka' loads the Kafka clients and no database driver", () => {
  const loaded = resolvedBy(ENTRY('kafka/index.js'));
  assert.ok(loaded.some((u) => u.includes('/@platformatic/kafka/')), 'the consumer-group client');
  assert.deepEqual(loaded.filter((u) => /node_modules\/(pg|pg-pool|better-sqlite3|fastify)\//.test(u)), []);
});
