/** The HTTP server's defaults, importable without loading Fastify (the CLI builds its settings from them). */
export const HTTP_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  bodyLimitBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  /** One process serves; `jobq serve --http-processes N` spreads HTTP over N (see docs/architecture.md). */
  httpProcesses: 1,
});
