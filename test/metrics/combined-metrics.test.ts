/**
 * Two nodes' metrics combined as `jobq serve --http-processes` combines its
 * processes' (cli/process-metrics.ts, by each metric's aggregator): what each
 * node counted adds up; what every node reads from the one store (the queue
 * depth, paused queues) is not multiplied by the number of processes; the
 * store counts as up only while every process finds it up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { JobqError } from '../../src/contracts/errors.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { MemoryStore } from '../../src/storage/memory/index.js';
import { fakeJobq } from '../helpers/jobq-harness.js';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('metrics combined across processes', () => {
  it('adds counters, takes the cluster-wide depth and paused flags once, and the store as up only if up everywhere', async () => {
    const store = new MemoryStore();
    const a = fakeJobq({ store, queues: {} }).jobq;
    const b = fakeJobq({ store, queues: {} }).jobq;
    const ma = createMetrics(a, { depthCacheMs: 0, processMetrics: false });
    const mb = createMetrics(b, { depthCacheMs: 0, processMetrics: false });
    try {
      for (let i = 0; i < 3; i++) await a.enqueue({ type: 't' });
      await b.enqueueMany([{ type: 't' }, { type: 't' }]);
      await a.queues.pause('held');
      await b.enqueue({ type: 't', queue: 'held' });
      ma.observeHttp('POST', '/enqueue', 200, 0.001);
      mb.observeHttp('POST', '/enqueue', 200, 0.001);
      // Process b finds the store failing.
      (b.health as unknown as { observe(err: unknown): void }).observe(new JobqError('store_unavailable', 'the disk is gone'));
      assert.equal(b.health.healthy, false);

      const text = await AggregatorRegistry.aggregate([await ma.registry.getMetricsAsJSON(), await mb.registry.getMetricsAsJSON()]).metrics();
      assert.equal(value(text, 'jobq_jobs_enqueued_total{queue="default",type="t"}'), 5, 'each node counted its own enqueues');
      assert.equal(value(text, 'jobq_http_request_duration_seconds_count{method="POST",route="/enqueue",status_code="200"}'), 2);
      assert.equal(value(text, 'jobq_queue_depth{queue="default",status="pending"}'), 5, 'read from the one store by both: once, not twice');
      assert.equal(value(text, 'jobq_queue_paused{queue="held"}'), 1);
      assert.equal(value(text, 'jobq_store_up'), 0, 'one process finds the store failing');
    } finally {
      ma.close();
      mb.close();
      await a.close();
      await b.close();
    }
  });
});
