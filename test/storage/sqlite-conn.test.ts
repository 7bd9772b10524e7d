/**
 * SqliteConn.write on a real file: a transaction that commits, one that
 * throws and leaves nothing behind, a nested write that fails alone (a
 * savepoint), and the write lock taken up front against another connection.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { isJobqError } from '../../src/contracts/errors.js';
import { SqliteConn } from '../../src/storage/sqlite/conn.js';
import { tempDir } from '../helpers/temp-dir.js';

function openConn(path: string): { conn: SqliteConn; count(): number } {
  const db = new Database(path, { timeout: 50 });
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER)');
  const conn = new SqliteConn(db, null);
  return { conn, count: () => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n };
}

it('sqlite write: commits and returns what fn returned; a throw rolls the whole transaction back and the connection goes on', () => {
  const dir = tempDir();
  const { conn, count } = openConn(dir.file('c.db'));
  const insert = conn.stmt('INSERT INTO t (v) VALUES (?)');
  assert.equal(conn.write(() => insert.run(1).changes), 1);
  assert.throws(() =>
    conn.write(() => {
      insert.run(2);
      throw new Error('boom');
    }),
  /boom/);
  assert.equal(count(), 1, 'the failed transaction left nothing');
  assert.equal(conn.db.inTransaction, false);
  conn.write(() => insert.run(3));
  assert.equal(count(), 2);
  conn.db.close();
  dir.remove();
});

it('sqlite write: a nested write that throws undoes only its own part when the outer one catches it', () => {
  const dir = tempDir();
  const { conn, count } = openConn(dir.file('n.db'));
  const insert = conn.stmt('INSERT INTO t (v) VALUES (?)');
  conn.write(() => {
    insert.run(1);
    assert.throws(() =>
      conn.write(() => {
        insert.run(2);
        throw new Error('inner');
      }),
    /inner/);
    insert.run(3);
  });
  assert.deepEqual((conn.db.prepare('SELECT v FROM t ORDER BY v').pluck().all() as number[]), [1, 3]);
  assert.equal(count(), 2);
  conn.db.close();
  dir.remove();
});

it('sqlite write: takes the write lock up front; while another connection holds it the write fails as store_unavailable, then succeeds', () => {
  const dir = tempDir();
  const path = dir.file('l.db');
  const { conn, count } = openConn(path);
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  let ran = false;
  assert.throws(
    () => conn.write(() => (ran = true)),
    (err: unknown) => isJobqError(err, 'store_unavailable'),
  );
  assert.equal(ran, false, 'fn never ran without the lock');
  other.exec('ROLLBACK');
  other.close();
  conn.write(() => conn.stmt('INSERT INTO t (v) VALUES (1)').run());
  assert.equal(count(), 1);
  conn.db.close();
  dir.remove();
});
