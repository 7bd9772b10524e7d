/**
 * Issue #9, item 3: a CLI a person can live in. --version, per-command help
 * that lists only the flags the command uses, jobs/queues/prune commands,
 * tables by default and --json for scripts, and `status --wait` exit codes.
 * Real `jobq` processes against a real server over loopback.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SETTINGS, SWITCHES, type Scope } from '../../src/cli/settings.js';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { FIXTURE_HANDLERS, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCli, type CliResult } from '../cli/support/run-cli.js';

const flags = (scopes: readonly Scope[]) =>
  [...Object.values(SETTINGS), ...Object.values(SWITCHES)].filter((s) => scopes.includes(s.scope)).map((s) => s.flag.split(' ')[0]!);
const ALL_SCOPES: readonly Scope[] = ['http', 'workers', 'store', 'retention'];

/** The flags a command's --help lists. */
function listedFlags(help: string): Set<string> {
  return new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!));
}

function json<T = any>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

describe('jobq --version and --help', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const arg of ['--version', '-v']) {
      const r = await runCli([arg]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), version);
    }
  });

  const expected: Record<string, readonly Scope[]> = {
    serve: ['http', 'workers', 'store', 'retention'],
    worker: ['workers', 'store', 'retention'],
    migrate: ['store'],
    prune: ['store', 'retention'],
  };
  for (const [command, scopes] of Object.entries(expected)) {
    it(`jobq ${command} --help lists exactly the ${scopes.join(', ')} flags`, async () => {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      const listed = listedFlags(r.stdout);
      for (const f of flags(scopes)) assert.ok(listed.has(f), `${command} --help lists ${f}`);
      for (const f of flags(ALL_SCOPES.filter((s) => !scopes.includes(s)))) assert.ok(!listed.has(f), `${command} --help does not list ${f}`);
    });
  }

  it('worker and migrate list no HTTP flag', async () => {
    for (const command of ['worker', 'migrate']) {
      const listed = listedFlags((await runCli([command, '--help'])).stdout);
      for (const f of ['--host', '--port', '--body-limit-bytes', '--no-workers']) assert.ok(!listed.has(f), `${command} --help lists ${f}`);
    }
  });

  it('the client commands list --url and --json', async () => {
    for (const command of [['enqueue'], ['status'], ['jobs', 'list'], ['jobs', 'get'], ['jobs', 'cancel'], ['jobs', 'retry'], ['queues', 'list'], ['queues', 'pause'], ['queues', 'resume']]) {
      const r = await runCli([...command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      const listed = listedFlags(r.stdout);
      assert.ok(listed.has('--url') && listed.has('--json'), command.join(' '));
      assert.match(r.stdout, /JOBQ_URL/);
    }
  });
});

describe('client commands against a running server', () => {
  let srv: ServerProcess;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir();
    srv = await spawnServer(['--sqlite-path', dir.file('jobs.db'), '--handlers', FIXTURE_HANDLERS, '--queues', 'default,mail']);
  });
  after(() => {
    srv.child.kill('SIGKILL');
    dir.remove();
  });
  const cli = (...args: string[]) => runCli([...args, '--url', srv.url]);

  it('enqueue prints one line for people and the job with --json', async () => {
    const human = await cli('enqueue', '--type', 'demo', '--payload', '{"ms":1}', '--queue', 'mail');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^enqueued [0-9a-f-]{36} \(demo on mail, (pending|scheduled)\)\n$/);
    const job = json(await cli('enqueue', '--type', 'demo', '--payload', '{"ms":1}', '--priority', '3', '--json'));
    assert.equal(job.priority, 3);
    assert.deepEqual(job.payload, { ms: 1 });
  });

  it('jobs list: a table by default, the page with --json; filters and limits pass through', async () => {
    const id = json(await cli('enqueue', '--type', 'demo', '--payload', '{"ms":1}', '--queue', 'mail', '--json')).id as string;
    await waitFor(async () => json(await cli('jobs', 'get', id, '--json')).status === 'completed', { what: 'the job to complete' });
    const table = await cli('jobs', 'list', '--queue', 'mail', '--status', 'completed');
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trim().split('\n');
    assert.match(header!, /^ID\s+QUEUE\s+TYPE\s+STATUS\s+ATTEMPTS\s+CREATED\s+RUN AT$/);
    assert.ok(rows.some((r) => r.startsWith(id) && /\bmail\s+demo\s+completed\s+1\/3\b/.test(r)), table.stdout);
    const page = json(await cli('jobs', 'list', '--queue', 'mail', '--limit', '1', '--json'));
    assert.equal(page.jobs.length, 1);
    assert.equal(typeof page.nextCursor, 'string');
    const more = await cli('jobs', 'list', '--queue', 'mail', '--limit', '1');
    assert.match(more.stdout, /^more: jobq jobs list --cursor \S+ --queue mail$/m);
    const bad = await cli('jobs', 'list', '--limit', '0');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^jobq: invalid --limit: expected an integer from 1 to 500, got "0"\n$/);
  });

  it('jobs list filters by type, key and creation time on the server; the next-page line repeats them', async () => {
    // Two jobs with one key: the first finished (and let the key go) before the second came.
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${srv.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'demo', queue: 'mail', key: "order 7's", payload: { ms: 1 } }) });
      const { id } = (await res.json()) as { id: string };
      ids.push(id);
      await waitFor(async () => json(await cli('jobs', 'get', id, '--json')).status === 'completed', { what: 'the keyed job to complete' });
    }
    const byKey = json(await cli('jobs', 'list', '--key', "order 7's", '--json'));
    assert.deepEqual(byKey.jobs.map((j: { id: string }) => j.id), ids);
    const byType = json(await cli('jobs', 'list', '--type', 'demo', '--created-after', '10m', '--json'));
    assert.ok(byType.jobs.length >= 1 && byType.jobs.every((j: { type: string }) => j.type === 'demo'), JSON.stringify(byType));
    assert.deepEqual(json(await cli('jobs', 'list', '--created-before', '2000-01-01', '--json')).jobs, []);
    assert.deepEqual(json(await cli('jobs', 'list', '--type', 'demo', '--created-after', '2999-01-01T00:00:00Z', '--json')).jobs, []);
    // The next-page line quotes the key for the shell and names the resolved time, not "1h".
    const first = await cli('jobs', 'list', '--queue', 'mail', '--key', "order 7's", '--created-after', '1h', '--limit', '1');
    assert.equal(first.code, 0, first.stderr);
    const more = /^more: jobq jobs list --cursor (\S+) --queue mail --key 'order 7'\\''s' --created-after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/m.exec(first.stdout);
    assert.ok(more, first.stdout);
    const last = json(await cli('jobs', 'list', '--cursor', more[1]!, '--queue', 'mail', '--key', "order 7's", '--created-after', more[2]!, '--limit', '1', '--json'));
    assert.deepEqual([last.jobs.map((j: { id: string }) => j.id), last.nextCursor], [[ids[1]], null]);
    for (const [flag, value] of [['--created-after', 'yesterday'], ['--created-before', '5000']] as const) {
      const bad = await cli('jobs', 'list', flag, value);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, new RegExp(`^jobq: invalid ${flag}: expected an ISO 8601 time .* got "${value}"\n$`));
    }
    const badType = await cli('jobs', 'list', '--type', 'a b');
    assert.equal(badType.code, 1, badType.stderr);
    assert.match(badType.stderr, /type must be 1 to 128 letters/);
  });

  it('jobs get shows a job as key/value lines, with its errors', async () => {
    const id = json(await cli('enqueue', '--type', 'throwMessage', '--payload', '{"message":"disk full"}', '--max-attempts', '1', '--json')).id as string;
    await waitFor(async () => json(await cli('jobs', 'get', id, '--json')).status === 'failed', { what: 'the job to fail' });
    const r = await cli('jobs', 'get', id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^id\\s+${id}$`, 'm'));
    assert.match(r.stdout, /^status\s+failed$/m);
    assert.match(r.stdout, /^attempts\s+1 of 1$/m);
    assert.match(r.stdout, /^errors\n  attempt 1 {2}\S+ \S+ {2}disk full$/m);
  });

  it('jobs cancel and retry: one line each, the job with --json, exit 1 with the error for an illegal transition', async () => {
    const id = json(await cli('enqueue', '--type', 'demo', '--payload', '{"ms":600000}', '--delay-ms', '600000', '--json')).id as string;
    const cancelled = await cli('jobs', 'cancel', id);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout, `cancelled ${id} (now cancelled)\n`);
    const again = await cli('jobs', 'cancel', id);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^jobq: illegal_transition: .*\n$/);
    const retried = json(await cli('jobs', 'retry', id, '--json'));
    assert.equal(retried.status, 'pending');
    await cli('jobs', 'cancel', id);
    const missing = await cli('jobs', 'get', '01936f2e-0000-7000-8000-000000000000');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^jobq: not_found: /);
  });

  it('queues list, pause and resume', async () => {
    const paused = await cli('queues', 'pause', 'mail');
    assert.equal(paused.stdout, 'paused queue mail\n');
    const table = await cli('queues', 'list');
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^QUEUE\s+PAUSED\s+.*\bPENDING\s+PROCESSING\s+COMPLETED\s+FAILED\s+CANCELLED\s+UNHANDLED$/);
    assert.ok(lines.some((l) => /^mail\s+yes\s/.test(l)), table.stdout);
    const resumed = json(await cli('queues', 'resume', 'mail', '--json'));
    assert.deepEqual(resumed, { name: 'mail', paused: false });
    const listed = json(await cli('queues', 'list', '--json'));
    assert.equal(listed.queues.find((q: { name: string }) => q.name === 'mail').paused, false);
  });

  it('status --wait: 0 when completed, 1 when failed, 1 when cancelled, 3 when the wait runs out', async () => {
    const enqueue = async (...args: string[]) => json(await cli('enqueue', ...args, '--json')).id as string;
    const done = await cli('status', await enqueue('--type', 'demo', '--payload', '{"ms":50}'), '--wait');
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^status\s+completed$/m);

    const failed = await cli('status', await enqueue('--type', 'throwMessage', '--payload', '{"message":"no"}', '--max-attempts', '1'), '--wait', '--json');
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(JSON.parse(failed.stdout).status, 'failed');

    const long = await enqueue('--type', 'demo', '--payload', '{"ms":600000}', '--queue', 'mail');
    const waiting = cli('status', long, '--wait');
    await waitFor(async () => json(await cli('jobs', 'get', long, '--json')).status === 'processing', { what: 'the long job to start' });
    assert.equal((await cli('jobs', 'cancel', long)).code, 0);
    const cancelled = await waiting;
    assert.equal(cancelled.code, 1, cancelled.stderr);
    assert.match(cancelled.stderr, /job \S+ cancelled/);

    const slow = await enqueue('--type', 'demo', '--payload', '{"ms":600000}', '--delay-ms', '600000');
    const t0 = Date.now();
    const timedOut = await cli('status', slow, '--wait', '--wait-timeout-ms', '300');
    assert.equal(timedOut.code, 3, timedOut.stderr);
    assert.ok(Date.now() - t0 < 5000);
    assert.match(timedOut.stderr, /still scheduled after 300 ms \(--wait-timeout-ms\)/);
    assert.match(timedOut.stdout, /^status\s+scheduled$/m);
    await cli('jobs', 'cancel', slow);
  });

  it("prune --url asks the server, sending only the retention flags given (the server's own retention holds for the rest)", async () => {
    const id = json(await cli('enqueue', '--type', 'demo', '--payload', '{"ms":1}', '--json')).id as string;
    await waitFor(async () => json(await cli('jobs', 'get', id, '--json')).status === 'completed', { what: 'the job to complete' });
    assert.deepEqual(json(await cli('prune', '--json')), { deleted: 0, byStatus: { completed: 0, failed: 0, cancelled: 0 } }, 'the server keeps completed jobs 7 days');
    const r = await cli('prune', '--retain-completed', '1ms');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deleted [1-9]\d* finished jobs?\n/);
    assert.match(r.stdout, /^completed\s+1ms\s+[1-9]\d*$/m);
    assert.match(r.stdout, /^failed\s+the server's\s+0$/m, 'failed jobs keep the server retention');
    const gone = await cli('jobs', 'get', id);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^jobq: not_found: /);
  });
});

describe('jobq prune', () => {
  it('deletes finished jobs past the retention given, straight from the store', async () => {
    const dir = tempDir();
    const path = dir.file('jobs.db');
    const jobq = new Jobq({ store: new SqliteStore({ path }), handlers: { ok: () => 'done' }, queues: { default: { concurrency: 5 } } });
    try {
      jobq.start();
      const jobs = await jobq.enqueueMany(Array.from({ length: 5 }, () => ({ type: 'ok' })));
      await jobq.enqueue({ type: 'ok', delayMs: 600_000 });
      await waitFor(async () => (await Promise.all(jobs.map((j) => jobq.get(j.id)))).every((j) => j?.status === 'completed'), { what: '5 jobs completed' });
    } finally {
      await jobq.close();
    }
    try {
      const keepAll = await runCli(['prune', '--sqlite-path', path, '--json']);
      assert.deepEqual(json(keepAll), { deleted: 0, byStatus: { completed: 0, failed: 0, cancelled: 0 } });
      const r = await runCli(['prune', '--sqlite-path', path, '--retain-completed', '1ms']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^deleted 5 finished jobs\n/);
      assert.match(r.stdout, /^completed\s+1ms\s+5$/m);
      const store = new SqliteStore({ path });
      try {
        const page = await store.jobList({ limit: 100, include: { payload: false, result: false }, maxBytes: 1 << 20 });
        assert.deepEqual(page.jobs.map((j) => j.status), ['scheduled'], 'only the unfinished job is left');
      } finally {
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });
});
