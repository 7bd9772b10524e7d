import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { FastHistogram } from '../../src/metrics/fast-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const SAMPLES: [string, string, number][] = [
  ['GET', '200', 0.0004],
  ['GET', '200', 0.001],
  ['GET', '200', 0.05],
  ['POST', '201', 0.2],
  ['POST', '201', 7],
  ['GET', '404', 0.01],
];

test('FastHistogram prints what prom-client prints for the same observations', async () => {
  const ours = new client.Registry();
  const theirs = new client.Registry();
  const fast = new FastHistogram('t_seconds', 'help text', ['method', 'code'], BUCKETS, ours);
  const ref = new client.Histogram({ name: 't_seconds', help: 'help text', labelNames: ['method', 'code'], buckets: BUCKETS, registers: [theirs] });
  for (const [method, code, v] of SAMPLES) {
    fast.child({ method, code }).observe(v);
    ref.observe({ method, code }, v);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /t_seconds_bucket\{le="0.001",method="GET",code="200"\} 2/);
  assert.match(text, /t_seconds_count\{method="POST",code="201"\} 2/);
});

test('FastHistogram#get answers like Histogram#get, and reset zeroes every series, kept children included', async () => {
  const registry = new client.Registry();
  const fast = new FastHistogram('u_seconds', 'help', ['queue'], BUCKETS, registry);
  const child = fast.child({ queue: 'q' });
  child.observe(0.5);
  child.observe(0.5);
  assert.equal(fast.child({ queue: 'q' }), child, 'one series per label set');
  const values = (await fast.get()).values;
  const count = values.find((v) => v.metricName === 'u_seconds_count');
  assert.deepEqual(count?.labels, { queue: 'q' });
  assert.equal(count?.value, 2);
  const le1 = values.find((v) => v.metricName === 'u_seconds_bucket' && v.labels.le === 1);
  assert.equal(le1?.value, 2);
  assert.equal(registry.getSingleMetric('u_seconds'), fast as unknown);
  registry.resetMetrics();
  const zeroed = (await fast.get()).values;
  assert.ok(zeroed.length > 0 && zeroed.every((v) => v.value === 0), 'the series stays, at zero');
  child.observe(0.05);
  const after = (await fast.get()).values.find((v) => v.metricName === 'u_seconds_count');
  assert.equal(after?.value, 1, 'a child kept from before the reset still counts into what is exported');
});
