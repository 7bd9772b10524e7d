/**
 * The array literals the Postgres store sends for its batch statements
 * (storage/postgres/array-literal.ts) read back, through a real server, as
 * exactly the values they were built from: awkward text, numbers, nulls.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { arrayLiteral, arrayLiteralOrNull } from '../../src/storage/postgres/array-literal.js';
import { stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

const AWKWARD = ['', 'NULL', 'null', 'Null', ' ', ' x ', 'a,b', '{a}', '"q"', 'back\\slash', '\\"', 'tab\there', 'line\nbreak', 'é ü 日本 🙂', '{"k":"v","n":[1,2]}', '0', '-1.5', '01a229c0-6db3-74ab-935b-ad8992277595', 'ÿ', 'a\u0001b'];

function randomText(): string {
  const pool = ['a', 'Z', '0', ' ', ',', '{', '}', '"', '\\', '\n', 'é', '🙂', 'N', 'U', 'L', ':', '-', '_', '.'];
  return Array.from({ length: Math.floor(Math.random() * 8) }, () => pool[Math.floor(Math.random() * pool.length)]).join('');
}

it('text, numbers and nulls come back from Postgres as they were sent', async () => {
  const client = new pg.Client({ connectionString: await testDatabaseUrl() });
  await client.connect();
  try {
    const texts: (string | null)[] = [...AWKWARD, null, ...Array.from({ length: 300 }, randomText)];
    const { rows } = await client.query<{ t: (string | null)[] }>('SELECT $1::text[] AS t', [arrayLiteral(texts, (v) => v)]);
    assert.deepEqual(rows[0]!.t, texts);
    const numbers = [0, -1, 7, 1_798_000_000_000, null, 2 ** 31];
    const { rows: n } = await client.query<{ n: (string | null)[] }>('SELECT $1::bigint[]::text[] AS n', [arrayLiteral(numbers, (v) => v)]);
    assert.deepEqual(n[0]!.n, numbers.map((v) => (v === null ? null : String(v))));
    assert.equal(arrayLiteralOrNull([null, null], (v) => v), null, 'all null: one NULL instead of an array');
    assert.equal(arrayLiteralOrNull(['', null], (v) => v), '{"",NULL}');
    const { rows: empty } = await client.query<{ t: string[] }>('SELECT $1::text[] AS t', [arrayLiteral([], (v: string) => v)]);
    assert.deepEqual(empty[0]!.t, []);
  } finally {
    await client.end();
  }
});
