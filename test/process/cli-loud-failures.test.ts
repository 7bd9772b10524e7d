/**
 * Issue #9, item 4: failures are loud. At the default log level, a job that
 * fails for good, a retry, a lease taken back by the rescuer and a handler
 * timeout each log exactly one warn line naming the job id, type, queue,
 * attempt and the error. Real `jobq serve` and `jobq worker` processes.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { FIXTURE_HANDLERS, spawnServer } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

interface LogLine {
  level: number;
  msg: string;
  jobId?: string;
  type?: string;
  queue?: string;
  attempt?: number;
  err?: unknown;
}

const WARN = 40;

function lines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{"level":'))
    .map((l) => JSON.parse(l) as LogLine);
}

it('fails for good, retry, rescued lease, handler timeout: one warn line each at the default level', async () => {
  const dir = tempDir();
  const db = dir.file('jobs.db');
  // Default level: the helper's --log-level warn is overridden back to info, the default.
  const serve = await spawnServer(['--sqlite-path', db, '--handlers', FIXTURE_HANDLERS, '--log-level', 'info', '--rescue-interval-ms', '100']);
  const worker = await spawnServer(['--sqlite-path', db, '--handlers', FIXTURE_HANDLERS, '--queues', 'slow', '--lease-ms', '500'], { command: 'worker' });
  try {
    const enqueue = async (body: Record<string, unknown>) => {
      const res = await http(serve.url, 'POST', '/v1/jobs', body);
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    };
    const failedForGood = await enqueue({ type: 'throwMessage', queue: 'default', payload: { message: 'disk full' }, maxAttempts: 1 });
    const retried = await enqueue({ type: 'throwMessage', queue: 'default', payload: { message: 'try again' }, maxAttempts: 2 });
    const timedOut = await enqueue({ type: 'hangForever', queue: 'default', timeoutMs: 100, maxAttempts: 1 });
    const rescued = await enqueue({ type: 'hangForever', queue: 'slow' });

    const job = async (id: string) => (await http(serve.url, 'GET', `/v1/jobs/${id}`)).body;
    await waitFor(async () => (await job(rescued)).status === 'processing', { what: 'the worker to claim the job' });
    worker.child.kill('SIGKILL');
    await worker.exited;

    await waitFor(async () => (await job(failedForGood)).status === 'failed', { what: 'a job failed for good' });
    await waitFor(async () => (await job(retried)).status === 'failed', { what: 'the retried job to fail on its second attempt' });
    await waitFor(async () => (await job(timedOut)).status === 'failed', { what: 'the timed-out job to fail' });
    const rescuedJob = await waitFor(async () => {
      const j = await job(rescued);
      return j.status === 'scheduled' || j.status === 'pending' ? j : null;
    }, { what: 'the rescuer to take the lease back' });
    assert.equal(rescuedJob.errors[0].message, 'lease expired: the worker stopped heartbeating');

    // The lines may trail the status change by a moment.
    const warnsOf = (id: string) => lines(serve.output()).filter((l) => l.jobId === id && l.level === WARN);
    await waitFor(() => [failedForGood, timedOut, rescued].every((id) => warnsOf(id).length >= 1) && warnsOf(retried).length >= 2, {
      what: 'the warn lines',
      timeoutMs: 5000,
    });

    const only = (id: string, pattern: RegExp) => {
      const found = warnsOf(id).filter((l) => pattern.test(l.msg));
      assert.equal(found.length, 1, `one "${pattern.source}" line for ${id}:\n${serve.output()}`);
      return found[0]!;
    };
    const check = (line: LogLine, expected: { type: string; queue: string; attempt: number; err: RegExp }) => {
      assert.equal(line.type, expected.type);
      assert.equal(line.queue, expected.queue);
      assert.equal(line.attempt, expected.attempt);
      assert.equal(typeof line.err, 'string', `an err field: ${JSON.stringify(line)}`);
      assert.match(line.err as string, expected.err, JSON.stringify(line));
    };
    check(only(failedForGood, /failed for good/), { type: 'throwMessage', queue: 'default', attempt: 1, err: /^disk full$/ });
    check(only(retried, /retry scheduled/), { type: 'throwMessage', queue: 'default', attempt: 1, err: /^try again$/ });
    check(only(retried, /failed for good/), { type: 'throwMessage', queue: 'default', attempt: 2, err: /^try again$/ });
    check(only(timedOut, /failed for good/), { type: 'hangForever', queue: 'default', attempt: 1, err: /timed out after 100 ms/ });
    check(only(rescued, /lease expired/), { type: 'hangForever', queue: 'slow', attempt: 1, err: /lease expired/ });
    for (const id of [failedForGood, timedOut, rescued]) assert.equal(warnsOf(id).length, 1, `exactly one warn line for ${id}`);
    assert.equal(warnsOf(retried).length, 2, 'one line for the retry, one for the final failure');
  } finally {
    serve.child.kill('SIGKILL');
    worker.child.kill('SIGKILL');
    dir.remove();
  }
});
