/** Entry point `jobq/tracing`: OpenTelemetry spans for enqueues and handlers (needs the optional peer @opentelemetry/api). */
export { enableTracing, disableTracing, type TracingOptions } from './tracing.js';
