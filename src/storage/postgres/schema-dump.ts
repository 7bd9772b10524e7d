/**
 * A normalized, readable description of jobq's tables in one schema, read
 * from the catalogs. The committed copy (schema.sql) is what the migrations
 * must produce; a test fails when the two drift apart.
 */
import type pg from 'pg';

export async function dumpSchema(client: pg.ClientBase, schema: string): Promise<string> {
  const out: string[] = ['-- jobq Postgres schema as the migrations build it (schema "jobq").', '-- Checked by test/storage/postgres-schema.test.ts; rewrite with JOBQ_UPDATE_SCHEMA_DUMP=1 npm test.', ''];
  const tables = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
    [schema],
  );
  for (const { table_name: table } of tables.rows) {
    const cols = await client.query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
      `SELECT column_name, data_type, is_nullable, column_default, is_identity
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [schema, table],
    );
    out.push(`CREATE TABLE jobq.${table} (`);
    out.push(
      cols.rows
        .map((c) => {
          const parts = [`  ${c.column_name} ${c.data_type}`];
          if (c.is_identity === 'YES') parts.push('GENERATED ALWAYS AS IDENTITY');
          if (c.column_default !== null) parts.push(`DEFAULT ${c.column_default}`);
          if (c.is_nullable === 'NO') parts.push('NOT NULL');
          return parts.join(' ');
        })
        .join(',\n'),
    );
    out.push(');');
    // NOT NULL is shown on the column; Postgres 18 also lists it as a constraint (contype 'n'), older ones do not.
    const cons = await client.query<{ conname: string; def: string }>(
      `SELECT conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname = $2 AND c.contype <> 'n' ORDER BY conname`,
      [schema, table],
    );
    for (const c of cons.rows) out.push(`ALTER TABLE jobq.${table} ADD CONSTRAINT ${c.conname} ${c.def};`);
    const idx = await client.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2
          AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname`,
      [schema, table],
    );
    for (const i of idx.rows) out.push(`${i.indexdef.split(`${schema}.`).join('jobq.')};`);
    out.push('');
  }
  return out.join('\n');
}
