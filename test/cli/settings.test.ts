import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings, queueOptions, SettingsError } from '../../src/cli/settings.js';

describe('CLI settings', () => {
  it('has the documented defaults', () => {
    const s = parseSettings({});
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 8080);
    assert.equal(s.store, 'sqlite');
    assert.equal(s.concurrency, 10);
    assert.equal(s.shutdownTimeoutMs, 30_000);
    assert.deepEqual(queueOptions(s), { default: { concurrency: 10, prefetch: 'auto' } });
  });

  it('reads per-queue concurrency, and the prefetch every queue gets', () => {
    assert.deepEqual(queueOptions(parseSettings({ queues: 'a, b:3', concurrency: '7', prefetch: '2' })), { a: { concurrency: 7, prefetch: 2 }, b: { concurrency: 3, prefetch: 2 } });
  });

  for (const [key, value, pattern] of [
    ['port', '70000', /--port \(JOBQ_PORT\)/],
    ['port', '80x', /--port \(JOBQ_PORT\)/],
    ['store', 'redis', /--store \(JOBQ_STORE\): expected one of sqlite, memory/],
    ['concurrency', '0', /--concurrency \(JOBQ_CONCURRENCY\)/],
    ['prefetch', '-1', /--prefetch \(JOBQ_PREFETCH\): expected auto or an integer from 0 to 1000/],
    ['prefetch', 'soon', /--prefetch \(JOBQ_PREFETCH\)/],
    ['shutdownTimeoutMs', '-1', /--shutdown-timeout-ms \(JOBQ_SHUTDOWN_TIMEOUT_MS\)/],
    ['logLevel', 'loud', /--log-level \(JOBQ_LOG_LEVEL\)/],
    ['queues', 'a b', /--queues \(JOBQ_QUEUES\)/],
    ['queues', 'a:zero', /--queues \(JOBQ_QUEUES\)/],
    ['sqliteSynchronous', 'off', /--sqlite-synchronous/],
  ] as const) {
    it(`names the bad setting: ${key}=${value}`, () => {
      assert.throws(() => parseSettings({ [key]: value }), (e: unknown) => e instanceof SettingsError && pattern.test(e.message));
    });
  }
});
