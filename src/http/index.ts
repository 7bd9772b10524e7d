/** Entry point `jobq/http`: the HTTP API as a Fastify app you can listen on or mount. */
export { createHttpApp, type HttpAppDeps } from './app.js';
export { HTTP_DEFAULTS } from './defaults.js';
export type { Readiness } from './routes/system.js';
