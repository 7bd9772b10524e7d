/**
 * `jobq schedules …`, `jobq queues set` and `serve --schedules <file>`:
 * real `jobq` processes against a real server over loopback.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { oneLine, runCli, type CliResult } from '../cli/support/run-cli.js';

function json<T = any>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

describe('jobq schedules and jobq queues set', () => {
  const dir = tempDir();
  let srv: ServerProcess;
  before(async () => {
    const file = dir.file('schedules.json');
    writeFileSync(file, JSON.stringify([{ name: 'nightly', cron: '0 3 * * *', tz: 'Europe/Paris', job: { type: 'report', payload: { kind: 'nightly' } } }]));
    srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--schedules', file]);
  });
  after(async () => {
    srv.child.kill('SIGKILL');
    await srv.exited;
    dir.remove();
  });

  it('serve --schedules declares the file\'s schedules at start', async () => {
    const s = json(await runCli(['schedules', 'get', 'nightly', '--url', srv.url, '--json']));
    assert.deepEqual([s.cron, s.tz, s.job.type, s.paused], ['0 3 * * *', 'Europe/Paris', 'report', false]);
  });

  it('set, list, pause, resume, rm; tables for people and --json for scripts', async () => {
    const set = json(await runCli(['schedules', 'set', 'every-5', '--cron', '*/5 * * * *', '--type', 'ping', '--payload', '{"n":1}', '--catch-up', 'latest', '--url', srv.url, '--json']));
    assert.equal(set.changed, true);
    assert.deepEqual([set.schedule.catchUp, set.schedule.job.payload], ['latest', { n: 1 }]);
    const again = await runCli(['schedule', 'set', 'every-5', '--cron', '*/5 * * * *', '--type', 'ping', '--payload', '{"n":1}', '--catch-up', 'latest', '--url', srv.url]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged schedule every-5: next run \d{4}-/);
    const list = await runCli(['schedules', 'list', '--url', srv.url]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+CRON\s+TZ\s+TYPE\s+QUEUE\s+NEXT RUN\s+LAST RUN\s+STATE/);
    assert.match(list.stdout, /every-5\s+\*\/5 \* \* \* \*\s+UTC\s+ping\s+default/);
    assert.match(list.stdout, /nightly/);
    assert.equal(json(await runCli(['schedules', 'pause', 'every-5', '--url', srv.url, '--json'])).paused, true);
    assert.equal(json(await runCli(['schedules', 'resume', 'every-5', '--url', srv.url, '--json'])).paused, false);
    assert.equal((await runCli(['schedules', 'rm', 'every-5', '--url', srv.url])).code, 0);
    const gone = await runCli(['schedules', 'get', 'every-5', '--url', srv.url]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no schedule named every-5/);
  });

  it('a bad cron or catch-up is refused with one line naming the problem', async () => {
    const cron = await runCli(['schedules', 'set', 'bad', '--cron', '61 * * * *', '--type', 'x', '--url', srv.url]);
    assert.notEqual(cron.code, 0);
    assert.match(cron.stderr, /cron/);
    const mode = await runCli(['schedules', 'set', 'bad', '--cron', '* * * * *', '--type', 'x', '--catch-up', 'sometimes', '--url', srv.url]);
    assert.equal(oneLine(mode), null);
    assert.match(mode.stderr, /--catch-up/);
  });

  it('queues set: limits, rates as max/interval, none to remove; shown in queues list --json', async () => {
    const out = json(await runCli(['queues', 'set', 'mail', '--concurrency', '5', '--per-key-rate-limit', '10/1s', '--url', srv.url, '--json']));
    assert.deepEqual(out.settings, { concurrency: 5, perKeyConcurrency: null, rateLimit: null, perKeyRateLimit: { max: 10, intervalMs: 1000 } });
    const human = await runCli(['queue', 'set', 'mail', '--concurrency', 'none', '--rate-limit', '600/1m', '--url', srv.url]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.trim(), 'queue mail: concurrency none, per key none, rate 600/60000ms, per-key rate 10/1000ms');
    const listed = json<{ queues: { name: string; settings: unknown }[] }>(await runCli(['queues', 'list', '--url', srv.url, '--json']));
    assert.deepEqual(listed.queues.find((q) => q.name === 'mail')?.settings, { concurrency: null, perKeyConcurrency: null, rateLimit: { max: 600, intervalMs: 60_000 }, perKeyRateLimit: { max: 10, intervalMs: 1000 } });
    for (const args of [['--concurrency', '0'], ['--rate-limit', '10'], ['--rate-limit', 'ten/1s'], []]) {
      const r = await runCli(['queues', 'set', 'mail', ...args, '--url', srv.url]);
      assert.equal(oneLine(r), null, args.join(' '));
    }
  });
});

describe('serve --schedules with a bad file', () => {
  it('a missing file, bad JSON or an invalid schedule: one line, exit 2', async () => {
    const dir = tempDir();
    try {
      writeFileSync(dir.file('bad.json'), '{"not": "an array"}');
      writeFileSync(dir.file('invalid.json'), JSON.stringify([{ name: 'x', cron: 'not cron', job: { type: 'y' } }]));
      for (const file of [dir.file('missing.json'), dir.file('bad.json'), dir.file('invalid.json')]) {
        const r = await runCli(['serve', '--port', '0', '--sqlite-path', dir.file('jobs.db'), '--schedules', file]);
        assert.equal(oneLine(r), null, file);
        assert.match(r.stderr, /schedule|cron/i);
      }
    } finally {
      dir.remove();
    }
  });
});
