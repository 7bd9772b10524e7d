/** The SQL backends' row mapping: SQLite's claims read rows as arrays in JOB_COLUMNS order. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { JOB_COLUMNS, jobRowFromValues } from '../../src/storage/job-row.js';

it('jobRowFromValues takes each value from the position of its column in JOB_COLUMNS, and no other', () => {
  const names = JOB_COLUMNS.split(', ');
  // Each value is its column's own name: a field read from the wrong position shows it.
  const row = jobRowFromValues(names) as unknown as Record<string, unknown>;
  for (const name of names) assert.equal(row[name], name, name);
  assert.deepEqual(Object.keys(row).sort(), [...names].sort(), 'every column, nothing more');
});
