/** `jobq worker --dispatch kafka …` start-up failures: one line, exit 2, naming the flag (real processes). */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { oneLine, runCli } from '../cli/support/run-cli.js';

after(stopSharedCluster);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('jobq with Kafka flags that cannot work', () => {
  it('brokers unreachable at start: one line naming --kafka-brokers, exit 2, within seconds', async () => {
    const url = await testDatabaseUrl();
    const port = await closedPort();
    const t0 = Date.now();
    const r = await runCli(['worker', '--store', 'postgres', '--database-url', url, '--pg-schema', freshSchema(), '--dispatch', 'kafka', '--kafka-brokers', `127.0.0.1:${port}`], { timeoutMs: 60_000 });
    assert.equal(oneLine(r), null);
    assert.match(r.stderr, /^jobq: cannot reach Kafka at 127\.0\.0\.1:\d+ \(--kafka-brokers\): /);
    assert.ok(Date.now() - t0 < 30_000, `gave up after ${Date.now() - t0} ms`);
  });

  it('--dispatch kafka on SQLite: one line saying it needs --store postgres, exit 2', async () => {
    const dir = tempDir();
    try {
      const r = await runCli(['worker', '--sqlite-path', dir.file('jobs.db'), '--dispatch', 'kafka', '--kafka-brokers', '127.0.0.1:9092']);
      assert.equal(oneLine(r), null);
      assert.match(r.stderr, /--dispatch \(JOBQ_DISPATCH\) kafka needs --store postgres/);
    } finally {
      dir.remove();
    }
  });
});
