/**
 * Tracing with a real OpenTelemetry SDK (NodeTracerProvider, AsyncLocalStorage
 * context) and its in-memory exporter, over a real SQLite store: the enqueue's
 * context is stored with the job and the handler runs in a child span.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { Jobq } from '../../src/core/jobq.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { disableTracing, enableTracing } from '../../src/tracing/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('tracing with an OpenTelemetry SDK registered', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const dir = tempDir();
  let jobq: Jobq;
  const seenInHandler: { traceId?: string; spanId?: string }[] = [];

  before(async () => {
    // Nothing registered yet: jobq serve's way of asking leaves tracing off.
    assert.equal(await enableTracing({ onlyIfRegistered: true }), false);
    provider.register();
    assert.equal(await enableTracing({ onlyIfRegistered: true }), true);
    assert.equal(await enableTracing(), true);
    jobq = new Jobq({
      store: new SqliteStore({ path: dir.file('jobs.db') }),
      handlers: {
        email: async () => {
          const sc = trace.getSpan(context.active())?.spanContext();
          seenInHandler.push({ traceId: sc?.traceId, spanId: sc?.spanId });
          return { sent: true };
        },
        broken: async () => {
          throw new Error('smtp down');
        },
      },
      queues: { default: { concurrency: 5 } },
      retry: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 },
    });
    await jobq.start();
  });

  after(async () => {
    await jobq.close();
    disableTracing();
    await provider.shutdown();
    trace.disable();
    context.disable();
    dir.remove();
  });

  it("stores the enqueue's trace context with the job and runs the handler in a child span of it", async () => {
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('POST /signup');
    const id = await context.with(trace.setSpan(context.active(), parent), async () => (await jobq.enqueue({ type: 'email', payload: { to: 'a@example.com' } })).id);
    parent.end();
    const psc = parent.spanContext();

    const stored = await jobq.get(id);
    assert.deepEqual(stored?.traceContext, { traceparent: `00-${psc.traceId}-${psc.spanId}-01` });
    await jobq.waitFor(id, { timeoutMs: 10_000 });

    const span = await waitFor(() => exporter.getFinishedSpans().find((s) => s.attributes['messaging.message.id'] === id), { what: 'the handler span' });
    assert.equal(span.name, 'process email');
    assert.equal(span.spanContext().traceId, psc.traceId);
    assert.equal(span.parentSpanContext?.spanId, psc.spanId);
    assert.equal(span.kind, 4 /* CONSUMER */);
    assert.equal(span.status.code, 0 /* UNSET: ok */);
    assert.equal(span.attributes['messaging.destination.name'], 'default');
    assert.equal(span.attributes['jobq.job.attempt'], 1);
    // The handler itself sees the span as active: its own spans nest under it.
    assert.ok(seenInHandler.some((s) => s.traceId === psc.traceId && s.spanId === span.spanContext().spanId));
  });

  it('keeps the tracestate, and marks a throwing handler ERROR with the exception, one span per attempt', async () => {
    const tracer = trace.getTracer('test');
    const id = await tracer.startActiveSpan('cron tick', async (parent) => {
      const job = await jobq.enqueue({ type: 'broken', maxAttempts: 2 });
      parent.end();
      return job.id;
    });
    const failed = await jobq.waitFor(id, { timeoutMs: 10_000 });
    assert.equal(failed.status, 'failed');
    const spans = await waitFor(() => {
      const s = exporter.getFinishedSpans().filter((x) => x.attributes['messaging.message.id'] === id);
      return s.length === 2 ? s : null;
    }, { what: 'two attempt spans' });
    const traceId = failed.traceContext!.traceparent.split('-')[1];
    for (const s of spans) {
      assert.equal(s.spanContext().traceId, traceId);
      assert.equal(s.status.code, 2 /* ERROR */);
      assert.equal(s.status.message, 'smtp down');
      assert.ok(s.events.some((e) => e.name === 'exception'));
    }
    assert.deepEqual(spans.map((s) => s.attributes['jobq.job.attempt']).sort(), [1, 2]);
  });

  it('starts a root span for a job enqueued with no active span, and stores no context for it', async () => {
    const job = await jobq.enqueue({ type: 'email' });
    assert.equal((await jobq.get(job.id))?.traceContext, null);
    await jobq.waitFor(job.id, { timeoutMs: 10_000 });
    const span = await waitFor(() => exporter.getFinishedSpans().find((s) => s.attributes['messaging.message.id'] === job.id), { what: 'the root span' });
    assert.equal(span.parentSpanContext, undefined);
  });

  it("runs a Jobq's own run wrappers (jobq.onRun: metrics) inside the job's span", async () => {
    const inWrapper: { spanId?: string; id: string }[] = [];
    const remove = jobq.onRun(async (job, run) => {
      inWrapper.push({ id: job.id, spanId: trace.getSpan(context.active())?.spanContext().spanId });
      return run();
    });
    try {
      const job = await jobq.enqueue({ type: 'email' });
      await jobq.waitFor(job.id, { timeoutMs: 10_000 });
      const span = await waitFor(() => exporter.getFinishedSpans().find((s) => s.attributes['messaging.message.id'] === job.id), { what: 'the span' });
      assert.deepEqual(inWrapper, [{ id: job.id, spanId: span.spanContext().spanId }]);
    } finally {
      remove();
    }
  });

  it('records nothing once disabled: no context stored, no span', async () => {
    disableTracing();
    try {
      const tracer = trace.getTracer('test');
      const id = await tracer.startActiveSpan('off', async (parent) => {
        const job = await jobq.enqueue({ type: 'email' });
        parent.end();
        return job.id;
      });
      await jobq.waitFor(id, { timeoutMs: 10_000 });
      assert.equal((await jobq.get(id))?.traceContext, null);
      assert.equal(exporter.getFinishedSpans().filter((s) => s.attributes['messaging.message.id'] === id).length, 0);
    } finally {
      assert.equal(await enableTracing(), true);
    }
  });
});
