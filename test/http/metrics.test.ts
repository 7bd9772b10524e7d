/**
 * GET /metrics: names and labels a Prometheus user expects, counts that follow
 * real jobs on SQLite, bounded label values, and `promtool check metrics`
 * (Debian's prometheus package; .ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Histogram } from 'prom-client';
import { createMetrics } from '../../src/metrics/metrics.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { fakeJobq } from '../helpers/jobq-harness.js';

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      handlers: { ok: async () => 1, bad: async () => Promise.reject(new Error('nope')) },
      jobq: { queues: { default: { concurrency: 10 } }, retry: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 } },
      http: { liveView: { metrics: { maxLabelValues: 3, depthCacheMs: 0 } } },
    });
  });
  after(() => s.close());

  it('counts jobs by queue and type, times waits and runs, reads depth per status, and times HTTP requests by route', async () => {
    for (let i = 0; i < 3; i++) await s.jobq.waitFor((await s.jobq.enqueue({ type: 'ok' })).id);
    await s.jobq.waitFor((await s.jobq.enqueue({ type: 'bad', maxAttempts: 2 })).id);
    await fetch(`${s.url}/v1/jobs/00000000-0000-7000-8000-000000000000`);
    await s.jobq.queues.pause('held');
    await s.jobq.enqueueMany([{ type: 'ok', queue: 'held' }, { type: 'ok', queue: 'held' }]);
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(value(text, 'jobq_jobs_enqueued_total{queue="default",type="ok"}'), 3);
    assert.equal(value(text, 'jobq_jobs_completed_total{queue="default",type="ok"}'), 3);
    assert.equal(value(text, 'jobq_jobs_started_total{queue="default",type="bad"}'), 2);
    assert.equal(value(text, 'jobq_jobs_retried_total{queue="default",type="bad"}'), 1);
    assert.equal(value(text, 'jobq_jobs_failed_total{queue="default",type="bad"}'), 1);
    assert.equal(value(text, 'jobq_job_wait_seconds_count{queue="default"}'), 5);
    assert.equal(value(text, 'jobq_job_run_seconds_count{queue="default",type="ok",outcome="ok"}'), 3);
    assert.equal(value(text, 'jobq_job_run_seconds_count{queue="default",type="bad",outcome="error"}'), 2);
    assert.equal(value(text, 'jobq_queue_depth{queue="held",status="pending"}'), 2);
    assert.equal(value(text, 'jobq_queue_depth{queue="default",status="failed"}'), 1);
    assert.equal(value(text, 'jobq_queue_paused{queue="held"}'), 1);
    assert.equal(value(text, 'jobq_store_up'), 1);
    assert.equal(value(text, 'jobq_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="404"}'), 1);
    assert.ok((value(text, 'jobq_process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
    // No job id anywhere in a label.
    assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}/);
  });

  it('caps label values: queues beyond the cap are counted as "other"', async () => {
    for (const q of ['q1', 'q2', 'q3', 'q4', 'q5']) await s.jobq.enqueue({ type: 'ok', queue: q });
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const queues = new Set([...text.matchAll(/^jobq_jobs_enqueued_total\{queue="([^"]+)"/gm)].map((m) => m[1]));
    assert.ok(queues.size <= 4, `at most 3 queue values and "other": ${[...queues].join(', ')}`);
    assert.ok(queues.has('other'));
  });

  it('passes promtool check metrics', { skip: promtool ? false : 'promtool not found: apt-get install prometheus (.ci/run does)' }, async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
  });
});

describe('metrics of one Jobq', () => {
  it("times a handler registered after the metrics were made; close() removes the timing hook", async () => {
    const { jobq, clock } = fakeJobq();
    const metrics = createMetrics(jobq, { processMetrics: false });
    await jobq.start();
    jobq.register('late', () => 'ok');
    await jobq.enqueue({ type: 'late' });
    await clock.advance(0);
    assert.equal(value(await metrics.text(), 'jobq_job_run_seconds_count{queue="default",type="late",outcome="ok"}'), 1);
    const run = metrics.registry.getSingleMetric('jobq_job_run_seconds') as Histogram;
    metrics.close();
    const job = await jobq.enqueue({ type: 'late' });
    await clock.advance(0);
    assert.equal((await jobq.get(job.id))?.status, 'completed');
    const count = (await run.get()).values.find((v) => v.metricName === 'jobq_job_run_seconds_count' && v.labels.type === 'late');
    assert.equal(count?.value, 1, 'not timed after close');
    await jobq.close();
  });

  it("observes each start's wait once, from its started event: the node's own workers and claims made through it (remote workers)", async () => {
    const { jobq, clock } = fakeJobq({ queues: {} });
    const metrics = createMetrics(jobq, { processMetrics: false });
    await jobq.enqueue({ type: 'remote' });
    await jobq.enqueue({ type: 'remote', delayMs: 500 });
    await clock.advance(2000);
    // What POST /v1/queues/default/claim does for a remote worker.
    const jobs = await jobq.claim({ queue: 'default', max: 10 });
    assert.equal(jobs.length, 2);
    const text = await metrics.text();
    assert.equal(value(text, 'jobq_job_wait_seconds_count{queue="default"}'), 2);
    assert.equal(value(text, 'jobq_job_wait_seconds_sum{queue="default"}'), 2 + 1.5, 'from creation, and from the run time of the delayed one');
    assert.equal(value(text, 'jobq_jobs_started_total{queue="default",type="remote"}'), 2);
    metrics.close();
    await jobq.close();
  });
});
