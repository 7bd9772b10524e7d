/** The committed schema dump and the migrations agree. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { dumpSchema } from '../../src/storage/postgres/schema-dump.js';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';

after(stopSharedCluster);

const DUMP = new URL('../../../src/storage/postgres/schema.sql', import.meta.url);

it('migrations build exactly the committed schema dump (src/storage/postgres/schema.sql)', async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  const store = await PostgresStore.open({ connectionString: url, schema });
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const actual = await dumpSchema(client, schema);
  await client.end();
  if (process.env.JOBQ_UPDATE_SCHEMA_DUMP === '1') writeFileSync(DUMP, actual);
  assert.equal(actual, readFileSync(DUMP, 'utf8'), 'schema drifted: a migration changed the schema; review it and rewrite the dump with JOBQ_UPDATE_SCHEMA_DUMP=1');
});
