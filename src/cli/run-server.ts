/**
 * `jobq serve` and `jobq worker`: builds the Jobq, optionally the HTTP app,
 * listens, and owns the signal handling. First SIGINT/SIGTERM drains
 * gracefully and exits 0; a second one exits at once (leases bring the jobs back).
 */
import pino from 'pino';
import { Jobq } from '../core/jobq.js';
import { demoHandler, DEMO_TYPE } from '../core/demo-handler.js';
import { createHttpApp } from '../http/app.js';
import { loadHandlers } from './load-handlers.js';
import { openStore } from './open-store.js';
import { queueOptions, type ServerSettings } from './settings.js';

export async function runServer(settings: ServerSettings, mode: 'serve' | 'worker'): Promise<void> {
  const logger = pino({ level: settings.logLevel, base: { pid: process.pid } });
  const handlers = { [DEMO_TYPE]: demoHandler, ...(settings.handlers ? await loadHandlers(settings.handlers) : {}) };
  const store = await openStore(settings, logger);
  const jobq = new Jobq({
    store,
    handlers,
    queues: queueOptions(settings),
    leaseMs: settings.leaseMs,
    pollIntervalMs: settings.pollIntervalMs,
    rescueIntervalMs: settings.rescueIntervalMs,
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    limits: { maxPayloadBytes: settings.maxPayloadBytes, maxBatchSize: settings.maxBatchSize },
    logger,
  });
  const readiness = { ready: true };
  const app = mode === 'serve' ? await createHttpApp({ jobq, logger, readiness, bodyLimitBytes: settings.bodyLimitBytes }) : null;

  let draining = false;
  const shutdown = async (signal: string) => {
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting now; running jobs return when their leases expire');
      process.exit(130);
    }
    draining = true;
    readiness.ready = false;
    logger.info({ signal, running: jobq.runningJobs, graceMs: settings.shutdownTimeoutMs }, 'shutting down gracefully');
    try {
      await Promise.all([app?.close(), jobq.stop()]);
      await jobq.close();
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  jobq.startWorkers();
  if (app) {
    const address = await app.listen({ host: settings.host, port: settings.port });
    logger.info({ address, store: settings.store, queues: settings.queues }, 'jobq serving');
    // One machine-readable line on stdout for scripts and tests that start us on port 0.
    if (settings.port === 0) process.stdout.write(`${JSON.stringify({ listening: address })}\n`);
  } else {
    logger.info({ store: settings.store, queues: settings.queues }, 'jobq worker running');
    // The worker's counterpart of the "listening" line, for scripts and tests.
    process.stdout.write(`${JSON.stringify({ worker: 'running', pid: process.pid })}\n`);
  }
}

/** `jobq migrate`: opening a store applies its pending migrations under a lock; then close. */
export async function migrateCommand(settings: ServerSettings): Promise<void> {
  const logger = pino({ level: settings.logLevel });
  const store = await openStore(settings, logger);
  await store.close();
  process.stdout.write(`${JSON.stringify({ migrated: settings.store })}\n`);
}
