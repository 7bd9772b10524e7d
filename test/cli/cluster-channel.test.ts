/**
 * A message for a process that has exited: a plain send reports the closed
 * channel as an 'error' event (unhandled, it ends the sender, as it ended
 * `jobq serve`'s primary when a scrape's answer met a drained HTTP process);
 * sendOnChannel lets it go.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';
import { sendOnChannel } from '../../src/cli/cluster-channel.js';

it('a message for a process whose channel closed: a plain send emits an error, sendOnChannel neither throws nor emits', async () => {
  // A child with a channel that closes it and exits.
  const child = spawn(process.execPath, ['-e', 'process.disconnect()'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await once(child, 'exit');
  assert.equal(child.connected, false);
  const errors: Error[] = [];
  child.on('error', (err) => errors.push(err));

  child.send({ jobq: 'metrics', id: 1, text: '' });
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1, 'the plain send reported the closed channel as an error event');

  sendOnChannel(child, { jobq: 'metrics', id: 2, text: '' });
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1, 'sendOnChannel reported nothing');
});
