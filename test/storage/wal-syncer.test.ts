import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { WalSyncer } from '../../src/storage/sqlite/wal-syncer.js';
import { tempDir } from '../helpers/temp-dir.js';

it('WalSyncer: syncs in the call, refuses once closed, and closing twice is harmless', () => {
  const dir = tempDir();
  const file = dir.file('x.db-wal');
  writeFileSync(file, 'frames');
  const syncer = new WalSyncer(file);
  syncer.sync();
  syncer.sync();
  syncer.close();
  assert.throws(() => syncer.sync(), /closed/, 'a closed syncer says so instead of syncing a descriptor that may be reused');
  syncer.close();
  dir.remove();
});

it('WalSyncer: opens the WAL when constructed (creating it 0600), so no commit can fail to open it afterwards', () => {
  const dir = tempDir();
  const file = dir.file('late-wal');
  const syncer = new WalSyncer(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  syncer.sync();
  syncer.close();
  syncer.close();
  assert.throws(() => new WalSyncer(dir.file('missing-dir/x-wal')), /ENOENT/, 'a WAL that cannot be opened fails the store at open, not a later commit');
  dir.remove();
});
