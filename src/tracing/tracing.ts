/**
 * OpenTelemetry tracing, optional. `enableTracing()` loads `@opentelemetry/api`
 * (an optional peer dependency: never bundled, never required) and sets the
 * core's two hooks:
 * - at enqueue, the caller's active span context is stored with each new job
 *   as W3C `traceparent` / `tracestate` (column `trace_context`);
 * - at run, the handler runs inside a CONSUMER span, a child of that stored
 *   context (a root span for a job enqueued without one), ended with the
 *   handler's outcome.
 * The spans go wherever the SDK the user registered sends them; jobq ships no
 * SDK and no exporter. Without `enableTracing()` the hooks are null and cost
 * the hot path one property check each (measured: see docs/api.md#tracing).
 *
 * Nothing here names an OpenTelemetry type in an exported signature, so the
 * package's types compile without the peer installed.
 */
import type { LeasedJob, TraceContext } from '../contracts/job.js';
import type { NewJobRecord } from '../contracts/store.js';
import { enqueueHook } from '../core/enqueuer.js';
import { runHook } from '../core/worker/executor.js';

/** The slice of @opentelemetry/api used here (structural, so no import of its types). */
interface SpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: { serialize(): string };
}
interface Span {
  spanContext(): SpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  recordException(err: unknown): void;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface OtelApi {
  trace: {
    getTracerProvider(): object & { getDelegate?(): object };
    getTracer(name: string, version?: string): { startActiveSpan<R>(name: string, options: object, ctx: unknown, fn: (span: Span) => R): R };
    getSpan(ctx: unknown): Span | undefined;
    setSpanContext(ctx: unknown, sc: SpanContext): unknown;
  };
  context: { active(): unknown };
  ROOT_CONTEXT: unknown;
  SpanKind: { CONSUMER: number };
  SpanStatusCode: { ERROR: number };
  isSpanContextValid(sc: SpanContext): boolean;
  createTraceState(raw?: string): { serialize(): string };
}

export interface TracingOptions {
  /** Instrumentation scope name of jobq's spans. @defaultValue 'jobq' */
  tracerName?: string;
  /** Turn on only if an SDK already registered a tracer provider (what `jobq serve` does). @defaultValue false */
  onlyIfRegistered?: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C form of a span context. */
export function toTraceContext(sc: SpanContext): TraceContext {
  const traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const tracestate = sc.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** A stored trace context back as a remote span context; null if malformed. */
export function fromTraceContext(api: Pick<OtelApi, 'createTraceState'>, tc: TraceContext): SpanContext | null {
  const m = TRACEPARENT.exec(tc.traceparent);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
    ...(tc.tracestate && { traceState: api.createTraceState(tc.tracestate) }),
  };
}

async function loadApi(): Promise<OtelApi | null> {
  try {
    // A variable specifier: TypeScript does not resolve it, so the build never needs the peer.
    const name = '@opentelemetry/api';
    return (await import(name)) as OtelApi;
  } catch {
    return null;
  }
}

/**
 * Turns tracing on for every Jobq of this process (OpenTelemetry's provider
 * is process-wide too). Resolves false, changing nothing, when
 * `@opentelemetry/api` is not installed. Register your SDK before or after:
 * spans go to whichever provider is registered when they start.
 */
export async function enableTracing(options: TracingOptions = {}): Promise<boolean> {
  const api = await loadApi();
  if (!api) return false;
  if (options.onlyIfRegistered) {
    const provider = api.trace.getTracerProvider();
    if ((provider.getDelegate?.() ?? provider).constructor.name === 'NoopTracerProvider') return false;
  }
  const { trace, context, ROOT_CONTEXT, SpanKind, SpanStatusCode } = api;
  const tracer = trace.getTracer(options.tracerName ?? 'jobq');

  enqueueHook.stamp = (records: NewJobRecord[]) => {
    const span = trace.getSpan(context.active());
    if (!span) return;
    const sc = span.spanContext();
    if (!api.isSpanContextValid(sc)) return;
    const tc = toTraceContext(sc);
    for (const r of records) r.traceContext ??= tc;
  };

  runHook.wrap = (job: LeasedJob, run: () => unknown) => {
    const parent = job.traceContext ? fromTraceContext(api, job.traceContext) : null;
    // Never the ambient context: a claim may run inside whatever request happened to wake the loop.
    const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const attributes = {
      'messaging.system': 'jobq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': job.queue,
      'messaging.message.id': job.id,
      'jobq.job.type': job.type,
      'jobq.job.attempt': job.attempts,
    };
    return tracer.startActiveSpan(`process ${job.type}`, { kind: SpanKind.CONSUMER, attributes }, ctx, (span) => {
      const failed = (err: unknown) => {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.end();
      };
      let out: unknown;
      try {
        out = run();
      } catch (err) {
        failed(err);
        throw err;
      }
      return Promise.resolve(out).then(
        (value) => {
          span.end();
          return value;
        },
        (err: unknown) => {
          failed(err);
          throw err;
        },
      );
    });
  };
  return true;
}

/** Turns tracing off again (the hooks back to null). */
export function disableTracing(): void {
  enqueueHook.stamp = null;
  runHook.wrap = null;
}
