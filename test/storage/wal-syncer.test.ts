import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { WalSyncer } from '../../src/storage/sqlite/wal-syncer.js';
import { tempDir } from '../helpers/temp-dir.js';

it('WalSyncer: calls made while an fsync runs share the next one; all resolve', async () => {
  const dir = tempDir();
  const file = dir.file('x.db-wal');
  writeFileSync(file, 'frames');
  const syncer = new WalSyncer(file);
  const order: string[] = [];
  const first = syncer.sync().then(() => order.push('first'));
  const second = syncer.sync().then(() => order.push('second'));
  const third = syncer.sync().then(() => order.push('third'));
  await Promise.all([first, second, third]);
  assert.deepEqual(order, ['first', 'second', 'third'], 'later callers wait for a later fsync');
  await syncer.sync();
  await syncer.close();
  dir.remove();
});

it('WalSyncer: opens the WAL when constructed (creating it 0600), so no commit can fail to open it afterwards', async () => {
  const dir = tempDir();
  const file = dir.file('late-wal');
  const syncer = new WalSyncer(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await syncer.sync();
  await syncer.close();
  await syncer.close();
  assert.throws(() => new WalSyncer(dir.file('missing-dir/x-wal')), /ENOENT/, 'a WAL that cannot be opened fails the store at open, not a later commit');
  dir.remove();
});
