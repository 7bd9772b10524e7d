/**
 * Issue #9, item 1: every way `jobq` can fail to start is one line on stderr
 * naming what to fix, no stack, exit 2. Real child processes throughout.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { SETTINGS, SWITCHES } from '../../src/cli/settings.js';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { eachLimited, oneLine, runCli } from '../cli/support/run-cli.js';
import { freePort } from '../helpers/free-port.js';

type Key = keyof typeof SETTINGS;

/** A value each setting refuses. Typed by SETTINGS: a new setting without a bad value here does not compile. */
const BAD: Record<Key, string> = {
  host: '',
  port: '65536',
  store: 'redis',
  databaseUrl: 'mysql://db/app',
  pgSchema: 'Bad-Schema',
  pgPoolSize: '0',
  sqlitePath: ':memory:',
  sqliteSynchronous: 'off',
  sqliteCacheKib: '10',
  memoryMaxJobs: '0',
  memoryMaxBytes: '10',
  concurrency: '0',
  prefetch: '1001',
  queues: 'a b',
  handlers: '/nonexistent/handlers.js',
  schedules: '/nonexistent/schedules.json',
  dispatch: 'redis',
  kafkaBrokers: 'nothing-uses-it:9092',
  ingest: 'no-equals-sign',
  eventsTopic: 'bad topic!',
  shutdownTimeoutMs: '-1',
  leaseMs: 'soon',
  pollIntervalMs: '0',
  rescueIntervalMs: '1.5',
  maxPayloadBytes: '0',
  maxBatchSize: '1e3',
  maxQueues: '0',
  bodyLimitBytes: '1',
  httpProcesses: '0',
  retainCompleted: 'sometimes',
  retainFailed: '-5d',
  retainCancelled: '2y',
  logLevel: 'loud',
};

const flagOf = (key: Key) => SETTINGS[key].flag.split(' ')[0]!;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Safe defaults around the setting under test (an in-memory store on any port), minus that setting's own flag. */
function baseArgs(key: Key): string[] {
  const args: string[] = [];
  if (key !== 'port') args.push('--port', '0');
  if (key !== 'store' && key !== 'sqlitePath') args.push('--store', 'memory');
  return args;
}

describe('jobq fails to start in one line, exit 2', () => {
  it('the table of bad values covers every setting', () => {
    assert.deepEqual(Object.keys(BAD).sort(), Object.keys(SETTINGS).sort());
  });

  for (const via of ['flag', 'env'] as const) {
    it(`every setting with a bad value (${via}) names its flag and its env variable`, async () => {
      const failures: string[] = [];
      await eachLimited(Object.keys(SETTINGS) as Key[], 3, async (key) => {
        const s = SETTINGS[key];
        const r =
          via === 'flag'
            ? await runCli(['serve', ...baseArgs(key), flagOf(key), BAD[key]])
            : await runCli(['serve', ...baseArgs(key)], { env: { [s.env]: BAD[key] } });
        const shape = oneLine(r);
        if (shape) failures.push(`${key}: ${shape}`);
        else if (!new RegExp(`${escape(flagOf(key))}\\b.*${s.env}\\b`).test(r.stderr)) failures.push(`${key}: does not name ${flagOf(key)} and ${s.env}: ${r.stderr}`);
      });
      assert.deepEqual(failures, []);
    });
  }

  it('the switches refuse anything but true or false in their env variables', async () => {
    for (const s of Object.values(SWITCHES)) {
      const r = await runCli(['serve', '--port', '0', '--store', 'memory'], { env: { [s.env]: 'maybe' } });
      assert.equal(oneLine(r), null, s.env);
      assert.match(r.stderr, new RegExp(`${escape(s.flag)} \\(${s.env}\\)`));
    }
  });

  it('an unknown flag, a missing argument and an unknown command: one line, exit 2', async () => {
    for (const [args, pattern] of [
      [['serve', '--prot', '0'], /unknown option '--prot'.*jobq serve --help/],
      [['worker', '--port', '0'], /unknown option '--port'.*jobq worker --help/],
      [['enqueue'], /required option '--type <type>'/],
      [['status'], /missing required argument 'id'/],
      [['jobs', 'lst'], /unknown command 'lst'/],
      [['serv'], /unknown command 'serv'/],
    ] as const) {
      const r = await runCli(args);
      assert.equal(oneLine(r), null, args.join(' '));
      assert.match(r.stderr, pattern);
    }
  });

  it('a port in use: one line naming --port and JOBQ_PORT, exit 2, and no job was claimed', async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    const seed = new Jobq({ store: new SqliteStore({ path }), queues: {} });
    const job = await seed.enqueue({ type: 'demo', payload: { ms: 1 } });
    await seed.close();
    const blocker: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const port = (blocker.address() as { port: number }).port;
      const r = await runCli(['serve', '--port', String(port), '--sqlite-path', path, '--poll-interval-ms', '1']);
      assert.equal(oneLine(r), null);
      assert.match(r.stderr, /127\.0\.0\.1:\d+ .*--port.*JOBQ_PORT.*in use/);
      const store = new SqliteStore({ path });
      try {
        const after = await store.jobGet(job.id);
        assert.equal(after?.status, 'pending', 'the job is still waiting');
        assert.equal(after?.attempts, 0, 'no attempt was spent');
      } finally {
        await store.close();
      }
    } finally {
      blocker.close();
      dir.remove();
    }
  });

  it('a store that cannot open: one line naming its flag, exit 2', async () => {
    const dir = tempDir();
    try {
      writeFileSync(dir.file('not-a-db'), 'this is not a database, just some text long enough to have a header\n'.repeat(20));
      for (const [args, pattern] of [
        [['serve', '--port', '0', '--sqlite-path', dir.file('missing/dir/jobs.db')], /--sqlite-path.*JOBQ_SQLITE_PATH/],
        [['migrate', '--sqlite-path', dir.file('not-a-db')], /--sqlite-path.*JOBQ_SQLITE_PATH.*SQLITE_NOTADB/],
        [['worker', '--sqlite-path', dir.path], /--sqlite-path.*JOBQ_SQLITE_PATH/],
      ] as const) {
        const r = await runCli(args);
        assert.equal(oneLine(r), null, args.join(' '));
        assert.match(r.stderr, pattern);
      }
    } finally {
      dir.remove();
    }
  });

  it('a Postgres that cannot be reached: one line naming --database-url, never its password, exit 2', async () => {
    const port = await freePort();
    const r = await runCli(['migrate', '--store', 'postgres', '--database-url', `postgres://jobq:s3cret-pw@127.0.0.1:${port}/app`], { timeoutMs: 60_000 });
    assert.equal(oneLine(r), null);
    assert.match(r.stderr, /--database-url.*JOBQ_DATABASE_URL.*ECONNREFUSED/);
    assert.doesNotMatch(r.stderr, /s3cret-pw/);
  });

  it('client commands against a server that is down: one line naming --url and JOBQ_URL, exit 2', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const id = '01936f2e-0000-7000-8000-000000000000';
    const commands = [
      ['enqueue', '--type', 'demo'],
      ['status', id],
      ['status', id, '--wait'],
      ['jobs', 'list'],
      ['jobs', 'get', id],
      ['jobs', 'cancel', id],
      ['jobs', 'retry', id],
      ['queues', 'list'],
      ['queues', 'pause', 'default'],
      ['queues', 'resume', 'default'],
    ];
    await eachLimited(commands, 3, async (args) => {
      for (const env of [{}, { JOBQ_URL: url }]) {
        const r = await runCli([...args, ...('JOBQ_URL' in env ? [] : ['--url', url])], { env });
        assert.equal(oneLine(r), null, args.join(' '));
        assert.match(r.stderr, new RegExp(`cannot reach the jobq server at ${escape(url)} \\(--url, JOBQ_URL\\): ECONNREFUSED`), args.join(' '));
      }
    });
    const bad = await runCli(['jobs', 'list', '--url', 'localhost:8080']);
    assert.equal(oneLine(bad), null);
    assert.match(bad.stderr, /invalid --url \(JOBQ_URL\)/);
  });
});
