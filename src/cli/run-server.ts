/**
 * `jobq serve` and `jobq worker`: builds the Jobq, optionally the HTTP app,
 * binds the port before any worker claims a job (a process that cannot serve
 * never takes jobs), and owns the signal handling: the first SIGINT, SIGTERM,
 * SIGHUP or SIGUSR2 drains gracefully and exits 0; a second exits at once.
 */
import type { Logger } from 'pino';
import { isJobqError } from '../contracts/errors.js';
import { setCappedTimeout } from '../core/clock.js';
import { Jobq } from '../core/jobq.js';
import { demoHandler, DEMO_TYPE } from '../core/demo-handler.js';
import { loadHandlers } from './load-handlers.js';
import { loadSchedules } from './load-schedules.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import type { AuthMode } from '../http/auth/auth-hook.js';
import { serveAuth } from './serve-auth.js';
import { queueOptions, SETTINGS, type ServerSettings } from './settings.js';
import { StartupError } from './startup-error.js';
import { enableTracing } from '../tracing/tracing.js';
import { isHttpProcess, onPrimaryStop, reportListening, startHttpProcesses, type HttpProcesses } from './http-processes.js';
import { keepWorkerHeapSmall, tuneHeapForServing } from './heap-tuning.js';

/** Kafka's flag messages name the flag; say its environment variable beside it, as every setting error does. */
function withEnvNames(message: string): string {
  // The flag the message is about is the first one it names.
  const named = (['dispatch', 'kafkaBrokers', 'ingest', 'eventsTopic'] as const)
    .map((key) => ({ name: SETTINGS[key].flag.split(' ')[0]!, env: SETTINGS[key].env }))
    .filter((f) => message.includes(f.name))
    .sort((a, b) => message.indexOf(a.name) - message.indexOf(b.name))[0];
  return named ? message.replace(named.name, `${named.name} (${named.env})`) : message;
}

/** Signals that stop the server gracefully. SIGHUP and SIGUSR2 are included: a process manager's reload must not kill running jobs. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'] as const;

export async function runServer(settings: ServerSettings, mode: 'serve' | 'worker'): Promise<void> {
  // One of a primary's HTTP processes (--http-processes): an API-only node; the primary runs the workers, schedules and Kafka.
  const httpProcess = mode === 'serve' && isHttpProcess();
  if (httpProcess) settings = { ...settings, workers: false, handlers: undefined, schedules: undefined, dispatch: 'store', kafkaBrokers: undefined, ingest: [], eventsTopic: undefined };
  // The primary of several HTTP processes serves no HTTP itself: it hands connections to them.
  const manyHttp = mode === 'serve' && !httpProcess && settings.httpProcesses > 1;
  // Before any request: open event streams must not make V8 pretenure every request's objects (heap-tuning.ts).
  if (mode === 'serve') tuneHeapForServing();
  // Before any job: on SQLite a worker's peak RSS is mostly young generation grown by job churn. Not for
  // serve, whose requests in flight a small young generation would promote (heap-tuning.ts).
  keepWorkerHeapSmall(mode, settings.store);
  const { logger, flush } = createLogger(settings.logLevel);
  // An OpenTelemetry SDK registered before jobq started (node --import ./otel.js): trace enqueues and handlers.
  if (await enableTracing({ onlyIfRegistered: true })) logger.info('tracing on: spans go to the registered OpenTelemetry SDK');
  const handlers = { [DEMO_TYPE]: demoHandler, ...(settings.handlers ? await loadHandlers(settings.handlers) : {}) };
  const schedules = settings.schedules ? await loadSchedules(settings.schedules) : [];
  // Kafka is loaded only when a Kafka flag asks for it: plain serve never loads a Kafka client.
  const kafkaWanted = settings.dispatch !== 'store' || settings.ingest.length > 0 || settings.eventsTopic !== undefined || settings.kafkaBrokers !== undefined;
  const kafka = kafkaWanted ? await import('../kafka/cli-options.js') : null;
  let plan: import('../kafka/cli-options.js').KafkaPlan | null = null;
  try {
    plan = kafka?.planKafka({ dispatch: settings.dispatch, kafkaBrokers: settings.kafkaBrokers, ingest: settings.ingest, eventsTopic: settings.eventsTopic, store: settings.store }) ?? null;
  } catch (err) {
    throw new StartupError(withEnvNames((err as Error).message));
  }
  const store = await openStore(settings, logger);
  const jobq = new Jobq({
    store,
    handlers,
    schedules,
    ...(plan?.dispatch && { dispatch: plan.dispatch }),
    queues: queueOptions(settings),
    leaseMs: settings.leaseMs,
    pollIntervalMs: settings.pollIntervalMs,
    rescueIntervalMs: settings.rescueIntervalMs,
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    limits: { maxPayloadBytes: settings.maxPayloadBytes, maxBatchSize: settings.maxBatchSize, maxQueues: settings.maxQueues },
    retention: { completed: settings.retainCompleted, failed: settings.retainFailed, cancelled: settings.retainCancelled },
    logger,
  });
  const readiness = { ready: true };
  let app: Awaited<ReturnType<typeof import('../http/app.js').createHttpApp>> | null = null;
  let auth: AuthMode | undefined;
  if (mode === 'serve') {
    // Also in the primary of several HTTP processes, before it starts them: an unprotected
    // address is refused in one line (not once per process), and JOBQ_ADMIN_TOKEN is seeded once.
    try {
      auth = await serveAuth(settings, store, logger);
    } catch (err) {
      await jobq.close(0).catch(() => {});
      throw err;
    }
  }
  if (mode === 'serve' && !manyHttp) {
    const { createHttpApp } = await import('../http/app.js');
    // An HTTP process's /metrics answers for the whole server (process-metrics.ts).
    const liveView = httpProcess ? { metrics: { processes: (await import('./process-metrics.js')).httpProcessMetrics() } } : undefined;
    app = await createHttpApp({ jobq, logger, readiness, bodyLimitBytes: settings.bodyLimitBytes, auth, liveView });
  }
  // Run before the Jobq stops (Kafka ingest and the event feed: the last events out, partitions given up).
  const stopping: (() => Promise<void>)[] = [];
  const shutdown = installSignals({ jobq, app, readiness, logger, flush, graceMs: settings.shutdownTimeoutMs, stopping });
  if (httpProcess) onPrimaryStop(() => shutdown('SIGTERM', false));

  let address = '';
  if (app) {
    try {
      address = await app.listen({ host: settings.host, port: settings.port });
    } catch (err) {
      await jobq.close(0).catch(() => {});
      const code = (err as { code?: string }).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such address here' : (err as Error).message;
      throw new StartupError(`cannot listen on ${settings.host}:${settings.port} (--host/--port, JOBQ_HOST/JOBQ_PORT): ${why}`);
    }
    if (httpProcess) {
      reportListening(address);
      await jobq.start();
      return;
    }
  }
  let http: HttpProcesses | null = null;
  if (manyHttp) {
    // The workers' numbers live here; the HTTP processes' scrapes combine them with theirs.
    const [{ createMetrics }, { serveProcessMetrics }] = await Promise.all([import('../metrics/metrics.js'), import('./process-metrics.js')]);
    serveProcessMetrics(createMetrics(jobq).registry);
    try {
      http = await startHttpProcesses(settings.httpProcesses, logger);
    } catch (err) {
      await jobq.close(0).catch(() => {});
      throw err;
    }
    address = http.address;
    const httpStop = http.stop;
    stopping.push(() => httpStop());
  }
  try {
    await jobq.start();
    if (plan?.extras) {
      const { startKafkaExtras } = await import('../kafka/extras.js');
      const extras = await startKafkaExtras(jobq, { ...plan.extras, logger });
      stopping.push(() => extras.stop());
    }
  } catch (err) {
    await app?.close().catch(() => {});
    await http?.stop().catch(() => {});
    await jobq.close(0).catch(() => {});
    // The only invalid input start() reads is the declared schedules.
    if (settings.schedules && isJobqError(err, 'invalid_request')) throw new StartupError(`invalid schedule in --schedules (JOBQ_SCHEDULES) ${settings.schedules}: ${err.message}`);
    const line = kafka?.kafkaStartupMessage(err);
    if (line) throw new StartupError(line);
    throw err;
  }
  const queues = settings.workers ? settings.queues : [];
  if (app || http) {
    logger.info({ address, store: settings.store, queues }, settings.workers ? 'jobq serving' : 'jobq serving the API only (--no-workers)');
    // One machine-readable line on stdout for scripts and tests that start us on port 0.
    if (settings.port === 0) process.stdout.write(`${JSON.stringify({ listening: address })}\n`);
  } else {
    logger.info({ store: settings.store, queues }, 'jobq worker running');
    // The worker's counterpart of the "listening" line, for scripts and tests.
    process.stdout.write(`${JSON.stringify({ worker: 'running', pid: process.pid })}\n`);
  }
}

interface SignalDeps {
  jobq: Jobq;
  app: { close(): Promise<unknown> } | null;
  readiness: { ready: boolean };
  logger: Logger;
  flush(timeoutMs: number): Promise<void>;
  graceMs: number;
  stopping: readonly (() => Promise<void>)[];
}

/** Beyond the grace period, this long for the store and the HTTP server to close before the process exits anyway. */
const CLOSE_MARGIN_MS = 10_000;

/** Installs the stop signals; returns the shutdown itself (`repeatExits` false: a request to drain that never forces an exit). */
function installSignals({ jobq, app, readiness, logger, flush, graceMs, stopping }: SignalDeps): (signal: string, repeatExits?: boolean) => Promise<void> {
  let draining = false;
  const exit = async (code: number) => {
    await flush(1000);
    process.exit(code);
  };
  const shutdown = async (signal: string, repeatExits = true) => {
    if (draining && !repeatExits) return;
    if (draining) {
      process.stderr.write(`jobq: second ${signal}: exiting now; running jobs return when their leases expire\n`);
      process.exit(130);
    }
    draining = true;
    readiness.ready = false;
    // On stderr too: whoever pressed Ctrl-C sees why the process has not gone yet.
    process.stderr.write(`jobq: ${signal}: draining; running jobs get up to ${graceMs} ms (send it again to exit now)\n`);
    logger.info({ signal, running: jobq.runningJobs, graceMs }, 'shutting down gracefully');
    // Whatever happens below (a store that never answers a close), the process ends.
    setCappedTimeout(
      () => {
        process.stderr.write(`jobq: not stopped ${graceMs + CLOSE_MARGIN_MS} ms after ${signal}; exiting now\n`);
        process.exit(1);
      },
      graceMs + CLOSE_MARGIN_MS,
      { unref: true },
    );
    try {
      for (const stop of stopping) await stop().catch((err: unknown) => logger.warn({ err }, 'could not stop cleanly'));
      await Promise.all([app?.close(), jobq.stop()]);
      await jobq.close();
      logger.info('stopped cleanly');
      await exit(0);
    } catch (err) {
      logger.error({ err }, 'error while shutting down');
      await exit(1);
    }
  };
  for (const sig of STOP_SIGNALS) process.on(sig, () => void shutdown(sig));
  return shutdown;
}

/** `jobq migrate`: opening a store applies its pending migrations under a lock; then close. */
export async function migrateCommand(settings: ServerSettings): Promise<void> {
  const { logger } = createLogger(settings.logLevel);
  const store = await openStore(settings, logger);
  await store.close();
  process.stdout.write(`${JSON.stringify({ migrated: settings.store })}\n`);
}
