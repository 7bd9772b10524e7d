/**
 * Server settings from flags and JOBQ_* environment variables (flags win),
 * validated once at start with an error that names the flag and the variable.
 * Every default comes from the module that owns it; this table only says how
 * each setting is spelled, where it applies, and how it is checked.
 */
import { DEFAULTS, NAME_PATTERN } from '../core/options.js';
import { isPrefetch, MAX_PREFETCH } from '../core/worker/claim-ahead.js';
import { HTTP_DEFAULTS } from '../http/defaults.js';
import { MEMORY_DEFAULTS } from '../storage/memory/defaults.js';
import { POSTGRES_DEFAULTS } from '../storage/postgres/defaults.js';
import { SQLITE_DEFAULTS } from '../storage/sqlite/defaults.js';
import { parseDuration, formatDuration } from './duration.js';

export interface ServerSettings {
  host: string;
  port: number;
  store: 'sqlite' | 'memory' | 'postgres';
  databaseUrl: string | undefined;
  pgSchema: string;
  pgPoolSize: number;
  /** LISTEN/NOTIFY wake-ups (off behind PgBouncer in transaction mode). */
  listen: boolean;
  /** Named prepared statements (off behind PgBouncer in transaction mode before 1.21). */
  prepare: boolean;
  sqlitePath: string;
  sqliteSynchronous: 'full' | 'normal';
  sqliteCacheKib: number;
  memoryMaxJobs: number;
  memoryMaxBytes: number;
  /** False with --no-workers: an API-only node. */
  workers: boolean;
  concurrency: number;
  /** Jobs claimed ahead of the free slots per queue (QueueOptions.prefetch). */
  prefetch: number | 'auto';
  queues: string[];
  handlers: string | undefined;
  /** A JSON file of cron schedules declared at start. */
  schedules: string | undefined;
  /** store, kafka or kafka-share (checked by src/kafka/cli-options.ts, loaded only when a Kafka flag is set). */
  dispatch: string;
  kafkaBrokers: string | undefined;
  /** topic=type[:queue] rules. */
  ingest: string[];
  eventsTopic: string | undefined;
  shutdownTimeoutMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  rescueIntervalMs: number;
  maxPayloadBytes: number;
  maxBatchSize: number;
  maxQueues: number;
  bodyLimitBytes: number;
  /** HTTP server processes sharing the port (1: this process serves alone). */
  httpProcesses: number;
  retainCompleted: number | null;
  retainFailed: number | null;
  retainCancelled: number | null;
  logLevel: string;
  /** --insecure-no-auth: no API tokens needed, even on a non-loopback address. */
  insecureNoAuth: boolean;
  /** JOBQ_ADMIN_TOKEN (environment only: never a flag, which `ps` would show): seeded as an admin token. */
  adminToken: string | undefined;
}

/**
 * Which commands a setting belongs to: the HTTP server (serve), the workers
 * (serve and worker), the store (every command that opens it), or the
 * retention of finished jobs (serve, worker and prune).
 */
export type Scope = 'http' | 'workers' | 'store' | 'retention';

interface Setting {
  flag: string;
  env: string;
  default: string | undefined;
  help: string;
  scope: Scope;
}

type Key = Exclude<keyof ServerSettings, 'listen' | 'prepare' | 'workers' | 'insecureNoAuth' | 'adminToken'>;

const ms = (n: number) => String(n);

/** Each setting: its flag, env variable, default (from the module that owns it), help and scope, in one table. */
export const SETTINGS = {
  host: { flag: '--host <host>', env: 'JOBQ_HOST', default: HTTP_DEFAULTS.host, help: 'interface to listen on', scope: 'http' },
  port: { flag: '--port <port>', env: 'JOBQ_PORT', default: String(HTTP_DEFAULTS.port), help: 'TCP port (0 = any free port)', scope: 'http' },
  store: { flag: '--store <kind>', env: 'JOBQ_STORE', default: 'sqlite', help: 'sqlite, memory (nothing persisted) or postgres', scope: 'store' },
  databaseUrl: { flag: '--database-url <url>', env: 'JOBQ_DATABASE_URL', default: undefined, help: 'postgres://…, required with --store postgres', scope: 'store' },
  pgSchema: { flag: '--pg-schema <name>', env: 'JOBQ_PG_SCHEMA', default: POSTGRES_DEFAULTS.schema, help: "schema holding jobq's tables", scope: 'store' },
  pgPoolSize: {
    flag: '--pg-pool-size <n>',
    env: 'JOBQ_PG_POOL_SIZE',
    default: String(POSTGRES_DEFAULTS.poolSize),
    help: 'connections per pool (a process has two: durable and worker)',
    scope: 'store',
  },
  sqlitePath: { flag: '--sqlite-path <path>', env: 'JOBQ_SQLITE_PATH', default: SQLITE_DEFAULTS.path, help: 'database file (created 0600; :memory: is refused)', scope: 'store' },
  sqliteSynchronous: {
    flag: '--sqlite-synchronous <mode>',
    env: 'JOBQ_SQLITE_SYNCHRONOUS',
    default: SQLITE_DEFAULTS.synchronous,
    help: 'full: every acknowledged change fsynced; normal: survives process crashes only',
    scope: 'store',
  },
  sqliteCacheKib: {
    flag: '--sqlite-cache-kib <KiB>',
    env: 'JOBQ_SQLITE_CACHE_KIB',
    default: String(SQLITE_DEFAULTS.cacheKiB),
    help: "SQLite's page cache per process (the OS caches the file too)",
    scope: 'store',
  },
  memoryMaxJobs: {
    flag: '--memory-max-jobs <n>',
    env: 'JOBQ_MEMORY_MAX_JOBS',
    default: String(MEMORY_DEFAULTS.maxActiveJobs),
    help: 'unfinished jobs the memory store holds before answering 429',
    scope: 'store',
  },
  memoryMaxBytes: {
    flag: '--memory-max-bytes <n>',
    env: 'JOBQ_MEMORY_MAX_BYTES',
    default: String(MEMORY_DEFAULTS.maxBytes),
    help: 'bytes of jobs the memory store holds before answering 429',
    scope: 'store',
  },
  concurrency: { flag: '--concurrency <n>', env: 'JOBQ_CONCURRENCY', default: String(DEFAULTS.concurrency), help: 'jobs run at once per queue', scope: 'workers' },
  prefetch: {
    flag: '--prefetch <n|auto>',
    env: 'JOBQ_PREFETCH',
    default: 'auto',
    help: 'jobs claimed ahead of free slots per queue, to start the moment one frees (auto: short jobs only; 0 off)',
    scope: 'workers',
  },
  queues: { flag: '--queues <names>', env: 'JOBQ_QUEUES', default: DEFAULTS.jobDefaults.queue, help: 'queues this process works; name:concurrency overrides', scope: 'workers' },
  handlers: { flag: '--handlers <module>', env: 'JOBQ_HANDLERS', default: undefined, help: 'ES module exporting { [type]: async (job, ctx) => result }', scope: 'workers' },
  schedules: {
    flag: '--schedules <file>',
    env: 'JOBQ_SCHEDULES',
    default: undefined,
    help: 'JSON file of cron schedules created or updated at start: [{ name, cron, tz?, job, catchUp?, paused? }]',
    scope: 'workers',
  },
  dispatch: {
    flag: '--dispatch <mode>',
    env: 'JOBQ_DISPATCH',
    default: 'store',
    help: 'store (claims from the store), kafka (consumer groups) or kafka-share (share groups); the kafka modes need --store postgres',
    scope: 'workers',
  },
  kafkaBrokers: {
    flag: '--kafka-brokers <hosts>',
    env: 'JOBQ_KAFKA_BROKERS',
    default: undefined,
    help: 'Kafka bootstrap brokers, host:port[,host:port] (for --dispatch kafka/kafka-share, --ingest, --events-topic)',
    scope: 'workers',
  },
  ingest: {
    flag: '--ingest <rules>',
    env: 'JOBQ_INGEST',
    default: undefined,
    help: 'turn each record of a Kafka topic into a job, exactly once: topic=type[:queue], comma-separated for several topics',
    scope: 'workers',
  },
  eventsTopic: { flag: '--events-topic <topic>', env: 'JOBQ_EVENTS_TOPIC', default: undefined, help: "publish this node's job events to a Kafka topic, keyed by job id", scope: 'workers' },
  shutdownTimeoutMs: {
    flag: '--shutdown-timeout-ms <ms>',
    env: 'JOBQ_SHUTDOWN_TIMEOUT_MS',
    default: ms(DEFAULTS.shutdownTimeoutMs),
    help: 'grace period for running jobs on SIGINT/SIGTERM/SIGHUP',
    scope: 'workers',
  },
  leaseMs: { flag: '--lease-ms <ms>', env: 'JOBQ_LEASE_MS', default: ms(DEFAULTS.leaseMs), help: 'how long a claim holds a job without a heartbeat', scope: 'workers' },
  pollIntervalMs: { flag: '--poll-interval-ms <ms>', env: 'JOBQ_POLL_INTERVAL_MS', default: ms(DEFAULTS.pollIntervalMs), help: 'fallback look for work', scope: 'workers' },
  rescueIntervalMs: {
    flag: '--rescue-interval-ms <ms>',
    env: 'JOBQ_RESCUE_INTERVAL_MS',
    default: ms(DEFAULTS.rescueIntervalMs),
    help: 'how often expired leases are taken back',
    scope: 'workers',
  },
  maxPayloadBytes: {
    flag: '--max-payload-bytes <n>',
    env: 'JOBQ_MAX_PAYLOAD_BYTES',
    default: String(DEFAULTS.limits.maxPayloadBytes),
    help: 'largest payload (its JSON)',
    scope: 'workers',
  },
  maxBatchSize: { flag: '--max-batch-size <n>', env: 'JOBQ_MAX_BATCH_SIZE', default: String(DEFAULTS.limits.maxBatchSize), help: 'most jobs per bulk request', scope: 'workers' },
  maxQueues: { flag: '--max-queues <n>', env: 'JOBQ_MAX_QUEUES', default: String(DEFAULTS.limits.maxQueues), help: 'most queues that may exist (429 beyond)', scope: 'workers' },
  bodyLimitBytes: { flag: '--body-limit-bytes <n>', env: 'JOBQ_BODY_LIMIT_BYTES', default: String(HTTP_DEFAULTS.bodyLimitBytes), help: 'largest request body', scope: 'http' },
  httpProcesses: {
    flag: '--http-processes <n>',
    env: 'JOBQ_HTTP_PROCESSES',
    default: String(HTTP_DEFAULTS.httpProcesses),
    help: 'HTTP server processes sharing the port, each with its own store connection (sqlite, postgres); above 1 this process runs the workers and hands connections out (on SQLite they take turns on the write lock: measured slower than 1 on 2 cores, see Performance)',
    scope: 'http',
  },
  retainCompleted: {
    flag: '--retain-completed <duration>',
    env: 'JOBQ_RETAIN_COMPLETED',
    default: formatDuration(DEFAULTS.retention.completed),
    help: 'how long completed jobs are kept (e.g. 12h, 7d; forever)',
    scope: 'retention',
  },
  retainFailed: {
    flag: '--retain-failed <duration>',
    env: 'JOBQ_RETAIN_FAILED',
    default: formatDuration(DEFAULTS.retention.failed),
    help: 'how long failed jobs are kept',
    scope: 'retention',
  },
  retainCancelled: {
    flag: '--retain-cancelled <duration>',
    env: 'JOBQ_RETAIN_CANCELLED',
    default: formatDuration(DEFAULTS.retention.cancelled),
    help: 'how long cancelled jobs are kept',
    scope: 'retention',
  },
  logLevel: { flag: '--log-level <level>', env: 'JOBQ_LOG_LEVEL', default: 'info', help: 'fatal | error | warn | info | debug | trace | silent', scope: 'store' },
} as const satisfies Record<Key, Setting>;

/** The switches that are not valued flags. */
export const SWITCHES = {
  listen: { flag: '--no-listen', env: 'JOBQ_PG_LISTEN', default: 'true', help: 'Postgres: poll instead of LISTEN/NOTIFY (PgBouncer in transaction mode); env JOBQ_PG_LISTEN=false', scope: 'store' },
  prepare: {
    flag: '--no-prepare',
    env: 'JOBQ_PG_PREPARE',
    default: 'true',
    help: 'Postgres: send statements unnamed, planned on every execution (PgBouncer in transaction mode before 1.21); env JOBQ_PG_PREPARE=false',
    scope: 'store',
  },
  workers: { flag: '--no-workers', env: 'JOBQ_WORKERS', default: 'true', help: 'serve the API only: claim and run no jobs; env JOBQ_WORKERS=false', scope: 'http' },
  insecureNoAuth: {
    flag: '--insecure-no-auth',
    env: 'JOBQ_INSECURE_NO_AUTH',
    default: 'false',
    help: 'serve without API tokens, even on a non-loopback address (otherwise refused there while no token exists); env JOBQ_INSECURE_NO_AUTH=true',
    scope: 'http',
  },
} as const;

export class SettingsError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function label(key: Key | keyof typeof SWITCHES): string {
  const s = key in SETTINGS ? SETTINGS[key as Key] : SWITCHES[key as keyof typeof SWITCHES];
  return `${s.flag.split(' ')[0]} (${s.env})`;
}

function int(key: Key, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new SettingsError(`invalid ${label(key)}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function prefetchSetting(raw: string): number | 'auto' {
  const value = raw.trim() === 'auto' ? 'auto' : /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!isPrefetch(value)) throw new SettingsError(`invalid ${label('prefetch')}: expected auto or an integer from 0 to ${MAX_PREFETCH}, got "${raw}"`);
  return value;
}

function oneOf<T extends string>(key: Key, raw: string, allowed: readonly T[]): T {
  if (!allowed.includes(raw as T)) throw new SettingsError(`invalid ${label(key)}: expected one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function duration(key: Key, raw: string): number | null {
  const d = parseDuration(raw);
  if (d === undefined) throw new SettingsError(`invalid ${label(key)}: expected a duration such as 30m, 12h, 7d (or milliseconds, or forever), got "${raw}"`);
  return d;
}

function bool(key: keyof typeof SWITCHES, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (!['true', 'false'].includes(raw)) throw new SettingsError(`invalid ${label(key)}: expected true or false, got "${raw}"`);
  return raw === 'true';
}

/**
 * `raw` holds commander's values (flag, else env, else default), all strings
 * but the switches, which are false after --no-listen / --no-prepare / --no-workers.
 */
export function parseSettings(raw: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const get = (key: Key) => String(raw[key] ?? SETTINGS[key].default ?? '');
  const queues = get('queues')
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (queues.length === 0) throw new SettingsError(`invalid ${label('queues')}: name at least one queue`);
  for (const q of queues) {
    const [name, conc, extra] = q.split(':');
    if (!name || extra !== undefined || !NAME_PATTERN.test(name)) throw new SettingsError(`invalid ${label('queues')}: bad queue "${q}" (expected name or name:concurrency)`);
    if (conc !== undefined) int('queues', conc, 1, 10_000);
  }
  const host = get('host');
  if (!host.trim()) throw new SettingsError(`invalid ${label('host')}: empty`);
  const handlers = raw.handlers === undefined ? undefined : String(raw.handlers);
  const schedules = raw.schedules === undefined || raw.schedules === '' ? undefined : String(raw.schedules);
  const store = oneOf('store', get('store'), ['sqlite', 'memory', 'postgres'] as const);
  const databaseUrl = raw.databaseUrl === undefined || raw.databaseUrl === '' ? undefined : String(raw.databaseUrl);
  if (store === 'postgres' && !databaseUrl) throw new SettingsError(`invalid ${label('databaseUrl')}: required with --store postgres`);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new SettingsError(`invalid ${label('databaseUrl')}: expected postgres://…`);
  const pgSchema = get('pgSchema');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) throw new SettingsError(`invalid ${label('pgSchema')}: expected a lower-case SQL identifier, got "${pgSchema}"`);
  const sqlitePath = get('sqlitePath');
  if (store === 'sqlite' && (sqlitePath.trim() === '' || sqlitePath === ':memory:' || sqlitePath.startsWith('file:'))) {
    throw new SettingsError(`invalid ${label('sqlitePath')}: "${sqlitePath}" is not a database file; jobq needs a file to be durable (use --store memory for a throwaway queue)`);
  }
  const httpProcesses = int('httpProcesses', get('httpProcesses'), 1, 64);
  if (httpProcesses > 1 && store === 'memory') throw new SettingsError(`invalid ${label('httpProcesses')}: the memory store lives in one process; use 1 (or --store sqlite / postgres)`);
  const listenEnv = bool('listen', env.JOBQ_PG_LISTEN);
  const prepareEnv = bool('prepare', env.JOBQ_PG_PREPARE);
  const workersEnv = bool('workers', env.JOBQ_WORKERS);
  const insecureEnv = bool('insecureNoAuth', env.JOBQ_INSECURE_NO_AUTH);
  return {
    host,
    port: int('port', get('port'), 0, 65535),
    store,
    databaseUrl,
    pgSchema,
    pgPoolSize: int('pgPoolSize', get('pgPoolSize'), 1, 1000),
    listen: raw.listen !== false && listenEnv !== false,
    prepare: raw.prepare !== false && prepareEnv !== false,
    sqlitePath,
    sqliteSynchronous: oneOf('sqliteSynchronous', get('sqliteSynchronous'), ['full', 'normal'] as const),
    sqliteCacheKib: int('sqliteCacheKib', get('sqliteCacheKib'), 64, 64 * 1024 * 1024),
    memoryMaxJobs: int('memoryMaxJobs', get('memoryMaxJobs'), 1),
    memoryMaxBytes: int('memoryMaxBytes', get('memoryMaxBytes'), 1024 * 1024),
    workers: raw.workers !== false && workersEnv !== false,
    concurrency: int('concurrency', get('concurrency'), 1, 10_000),
    prefetch: prefetchSetting(get('prefetch')),
    queues,
    handlers: handlers === '' ? undefined : handlers,
    schedules,
    dispatch: get('dispatch'),
    kafkaBrokers: raw.kafkaBrokers === undefined || raw.kafkaBrokers === '' ? undefined : String(raw.kafkaBrokers),
    ingest: raw.ingest === undefined ? [] : String(raw.ingest).split(',').map((r) => r.trim()).filter(Boolean),
    eventsTopic: raw.eventsTopic === undefined || raw.eventsTopic === '' ? undefined : String(raw.eventsTopic),
    shutdownTimeoutMs: int('shutdownTimeoutMs', get('shutdownTimeoutMs'), 0),
    leaseMs: int('leaseMs', get('leaseMs'), 100),
    pollIntervalMs: int('pollIntervalMs', get('pollIntervalMs'), 1),
    rescueIntervalMs: int('rescueIntervalMs', get('rescueIntervalMs'), 1),
    maxPayloadBytes: int('maxPayloadBytes', get('maxPayloadBytes'), 1),
    maxBatchSize: int('maxBatchSize', get('maxBatchSize'), 1, 100_000),
    maxQueues: int('maxQueues', get('maxQueues'), 1, 1_000_000),
    bodyLimitBytes: int('bodyLimitBytes', get('bodyLimitBytes'), 1024),
    httpProcesses,
    retainCompleted: duration('retainCompleted', get('retainCompleted')),
    retainFailed: duration('retainFailed', get('retainFailed')),
    retainCancelled: duration('retainCancelled', get('retainCancelled')),
    logLevel: oneOf('logLevel', get('logLevel'), LOG_LEVELS),
    insecureNoAuth: raw.insecureNoAuth === true || insecureEnv === true,
    adminToken: env.JOBQ_ADMIN_TOKEN ? env.JOBQ_ADMIN_TOKEN : undefined,
  };
}

/** `["a", "b:5"]` with default concurrency → `{ a: {concurrency}, b: {concurrency: 5} }`; none with --no-workers. */
export function queueOptions(settings: ServerSettings): Record<string, { concurrency: number; prefetch: number | 'auto' }> {
  if (!settings.workers) return {};
  return Object.fromEntries(
    settings.queues.map((q) => {
      const [name, conc] = q.split(':');
      return [name!, { concurrency: conc === undefined ? settings.concurrency : Number(conc), prefetch: settings.prefetch }];
    }),
  );
}
