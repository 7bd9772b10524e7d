/**
 * Server settings from flags and JOBQ_* environment variables (flags win),
 * validated once at start with an error that names the bad setting.
 */
import { DEFAULTS } from '../core/options.js';

export interface ServerSettings {
  host: string;
  port: number;
  store: 'sqlite' | 'memory' | 'postgres';
  databaseUrl: string | undefined;
  pgSchema: string;
  pgPoolSize: number;
  /** LISTEN/NOTIFY wake-ups (off behind PgBouncer in transaction mode). */
  listen: boolean;
  sqlitePath: string;
  sqliteSynchronous: 'full' | 'normal';
  memoryMaxJobs: number;
  concurrency: number;
  queues: string[];
  handlers: string | undefined;
  shutdownTimeoutMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  rescueIntervalMs: number;
  maxPayloadBytes: number;
  maxBatchSize: number;
  bodyLimitBytes: number;
  logLevel: string;
}

/** Each setting: its flag, env variable, default and help, in one table. */
export const SETTINGS = {
  host: { flag: '--host <host>', env: 'JOBQ_HOST', default: '127.0.0.1', help: 'interface to listen on' },
  port: { flag: '--port <port>', env: 'JOBQ_PORT', default: '8080', help: 'TCP port (0 = any free port)' },
  store: { flag: '--store <kind>', env: 'JOBQ_STORE', default: 'sqlite', help: 'storage backend: sqlite | memory | postgres' },
  databaseUrl: { flag: '--database-url <url>', env: 'JOBQ_DATABASE_URL', default: undefined, help: 'Postgres URL (with --store postgres)' },
  pgSchema: { flag: '--pg-schema <name>', env: 'JOBQ_PG_SCHEMA', default: 'jobq', help: 'Postgres schema for jobq tables' },
  pgPoolSize: { flag: '--pg-pool-size <n>', env: 'JOBQ_PG_POOL_SIZE', default: '10', help: 'Postgres connections per process' },
  sqlitePath: { flag: '--sqlite-path <path>', env: 'JOBQ_SQLITE_PATH', default: 'jobq.db', help: 'SQLite database file' },
  sqliteSynchronous: {
    flag: '--sqlite-synchronous <mode>',
    env: 'JOBQ_SQLITE_SYNCHRONOUS',
    default: 'full',
    help: 'full (fsync every commit; survives power loss) | normal (survives process crashes only)',
  },
  memoryMaxJobs: { flag: '--memory-max-jobs <n>', env: 'JOBQ_MEMORY_MAX_JOBS', default: '100000', help: 'unfinished jobs the memory store holds before answering 429' },
  concurrency: { flag: '--concurrency <n>', env: 'JOBQ_CONCURRENCY', default: String(DEFAULTS.concurrency), help: 'jobs run at once per queue' },
  queues: { flag: '--queues <names>', env: 'JOBQ_QUEUES', default: 'default', help: 'comma-separated queues to work; name:concurrency overrides --concurrency' },
  handlers: { flag: '--handlers <module>', env: 'JOBQ_HANDLERS', default: undefined, help: 'ES module exporting { [type]: async (job, ctx) => result }' },
  shutdownTimeoutMs: {
    flag: '--shutdown-timeout-ms <ms>',
    env: 'JOBQ_SHUTDOWN_TIMEOUT_MS',
    default: String(DEFAULTS.shutdownTimeoutMs),
    help: 'grace period for running jobs on SIGINT/SIGTERM',
  },
  leaseMs: { flag: '--lease-ms <ms>', env: 'JOBQ_LEASE_MS', default: String(DEFAULTS.leaseMs), help: 'how long a claim holds a job without a heartbeat' },
  pollIntervalMs: { flag: '--poll-interval-ms <ms>', env: 'JOBQ_POLL_INTERVAL_MS', default: String(DEFAULTS.pollIntervalMs), help: 'fallback look for work' },
  rescueIntervalMs: {
    flag: '--rescue-interval-ms <ms>',
    env: 'JOBQ_RESCUE_INTERVAL_MS',
    default: String(DEFAULTS.rescueIntervalMs),
    help: 'how often expired leases are taken back',
  },
  maxPayloadBytes: { flag: '--max-payload-bytes <n>', env: 'JOBQ_MAX_PAYLOAD_BYTES', default: String(DEFAULTS.limits.maxPayloadBytes), help: 'largest job payload (JSON bytes)' },
  maxBatchSize: { flag: '--max-batch-size <n>', env: 'JOBQ_MAX_BATCH_SIZE', default: String(DEFAULTS.limits.maxBatchSize), help: 'most jobs per bulk request' },
  bodyLimitBytes: { flag: '--body-limit-bytes <n>', env: 'JOBQ_BODY_LIMIT_BYTES', default: String(16 * 1024 * 1024), help: 'largest HTTP request body' },
  logLevel: { flag: '--log-level <level>', env: 'JOBQ_LOG_LEVEL', default: 'info', help: 'fatal | error | warn | info | debug | trace | silent' },
} as const satisfies Record<Exclude<keyof ServerSettings, 'listen'>, { flag: string; env: string; default: string | undefined; help: string }>;

export class SettingsError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function label(key: Exclude<keyof ServerSettings, 'listen'>): string {
  const s = SETTINGS[key];
  return `${s.flag.split(' ')[0]} (${s.env})`;
}

function int(key: Exclude<keyof ServerSettings, 'listen'>, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new SettingsError(`invalid ${label(key)}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function oneOf<T extends string>(key: Exclude<keyof ServerSettings, 'listen'>, raw: string, allowed: readonly T[]): T {
  if (!allowed.includes(raw as T)) throw new SettingsError(`invalid ${label(key)}: expected one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * `raw` holds commander's values (flag, else env, else default), all strings
 * but `listen`, which is false after --no-listen (or JOBQ_PG_LISTEN=false).
 */
export function parseSettings(raw: Record<string, string | boolean | undefined>): ServerSettings {
  const get = (key: Exclude<keyof ServerSettings, 'listen'>) => String(raw[key] ?? SETTINGS[key].default ?? '');
  const queues = get('queues')
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (queues.length === 0) throw new SettingsError(`invalid ${label('queues')}: name at least one queue`);
  for (const q of queues) {
    const [name, conc] = q.split(':');
    if (!name || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(name)) throw new SettingsError(`invalid ${label('queues')}: bad queue name "${q}"`);
    if (conc !== undefined) int('queues', conc, 1, 10_000);
  }
  const host = get('host');
  if (!host) throw new SettingsError(`invalid ${label('host')}: empty`);
  const handlers = raw.handlers === undefined ? undefined : String(raw.handlers);
  const store = oneOf('store', get('store'), ['sqlite', 'memory', 'postgres'] as const);
  const databaseUrl = raw.databaseUrl === undefined || raw.databaseUrl === '' ? undefined : String(raw.databaseUrl);
  if (store === 'postgres' && !databaseUrl) throw new SettingsError(`invalid ${label('databaseUrl')}: required with --store postgres`);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new SettingsError(`invalid ${label('databaseUrl')}: expected postgres://…`);
  const pgSchema = get('pgSchema');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) throw new SettingsError(`invalid ${label('pgSchema')}: expected a lower-case SQL identifier, got "${pgSchema}"`);
  const listenEnv = process.env.JOBQ_PG_LISTEN;
  if (listenEnv !== undefined && !['true', 'false'].includes(listenEnv)) throw new SettingsError(`invalid --no-listen (JOBQ_PG_LISTEN): expected true or false, got "${listenEnv}"`);
  return {
    host,
    port: int('port', get('port'), 0, 65535),
    store,
    databaseUrl,
    pgSchema,
    pgPoolSize: int('pgPoolSize', get('pgPoolSize'), 1, 1000),
    listen: raw.listen !== false && listenEnv !== 'false',
    sqlitePath: get('sqlitePath'),
    sqliteSynchronous: oneOf('sqliteSynchronous', get('sqliteSynchronous'), ['full', 'normal'] as const),
    memoryMaxJobs: int('memoryMaxJobs', get('memoryMaxJobs'), 1),
    concurrency: int('concurrency', get('concurrency'), 1, 10_000),
    queues,
    handlers: handlers === '' ? undefined : handlers,
    shutdownTimeoutMs: int('shutdownTimeoutMs', get('shutdownTimeoutMs'), 0),
    leaseMs: int('leaseMs', get('leaseMs'), 100),
    pollIntervalMs: int('pollIntervalMs', get('pollIntervalMs'), 1),
    rescueIntervalMs: int('rescueIntervalMs', get('rescueIntervalMs'), 1),
    maxPayloadBytes: int('maxPayloadBytes', get('maxPayloadBytes'), 1),
    maxBatchSize: int('maxBatchSize', get('maxBatchSize'), 1, 100_000),
    bodyLimitBytes: int('bodyLimitBytes', get('bodyLimitBytes'), 1024),
    logLevel: oneOf('logLevel', get('logLevel'), LOG_LEVELS),
  };
}

/** `["a", "b:5"]` with default concurrency → `{ a: {concurrency}, b: {concurrency: 5} }`. */
export function queueOptions(settings: ServerSettings): Record<string, { concurrency: number }> {
  return Object.fromEntries(
    settings.queues.map((q) => {
      const [name, conc] = q.split(':');
      return [name!, { concurrency: conc === undefined ? settings.concurrency : Number(conc) }];
    }),
  );
}
