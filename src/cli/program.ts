/**
 * The `jobq` command's commands, loaded by main.ts. The only place that
 * reads argv and env (main.ts looks at the command's name only). Every way a
 * command can fail to start (an unknown flag, a bad setting, a port in use,
 * a store that cannot open, a server that cannot be reached) is one line on
 * stderr and exit code 2, never a stack trace. Exit codes: exit-codes.ts.
 */
import { queueSetCommand, scheduleActionCommand, scheduleListCommand, scheduleSetCommand } from './schedule-commands.js';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { JobqError } from '../contracts/errors.js';
import {
  enqueueCommand,
  jobsActionCommand,
  jobsGetCommand,
  jobsListCommand,
  queuesActionCommand,
  queuesListCommand,
  statusCommand,
  type ClientFlags,
  type EnqueueFlags,
  type StatusFlags,
} from './client-commands.js';
import { EXIT } from './exit-codes.js';
import { pruneCommand } from './prune-command.js';
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './token-command.js';
import { enqueueFileCommand, type EnqueueFileFlags } from './enqueue-file.js';
import { statusWaitCommand } from './status-wait.js';
import { topCommand } from './top.js';
import { migrateCommand, runServer } from './run-server.js';
import { parseSettings, SETTINGS, SettingsError, SWITCHES, type Scope } from './settings.js';
import { StartupError } from './startup-error.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

// A reader that went away (EPIPE on a closed pipe) must not crash a server that is draining.
for (const out of [process.stdout, process.stderr]) out.on('error', () => {});

/** package.json sits three levels above dist/src/cli/program.js, in the repository and in an installed package alike. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Adds the settings of the given scopes, so each command's --help lists only what it uses. */
function withSettings(cmd: Command, scopes: readonly Scope[]): Command {
  for (const s of Object.values(SWITCHES)) if (scopes.includes(s.scope)) cmd.option(s.flag, s.help);
  for (const [key, s] of Object.entries(SETTINGS)) {
    if (!scopes.includes(s.scope)) continue;
    const opt = new Option(s.flag, `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`).env(s.env);
    if (opt.attributeName() !== key) throw new Error(`flag ${s.flag} does not map to setting ${key}`);
    cmd.addOption(opt);
  }
  return cmd;
}

/** --url, --token and --json, shared by every command that talks to a server. */
function asClient(cmd: Command): Command {
  if (!cmd.options.some((o) => o.long === '--token')) cmd.addOption(new Option('--token <secret>', 'API token, when the server needs one').env('JOBQ_TOKEN'));
  return cmd
    .addOption(new Option('--url <url>', 'server URL').env('JOBQ_URL').default(DEFAULT_URL))
    .option('--json', 'print the JSON the server answered (for scripts) instead of a table');
}

/** One line, no stack: exit 2 for anything that kept the command from starting, 1 for an error answer. */
export function fail(err: unknown): never {
  if (err instanceof SettingsError || err instanceof StartupError) {
    process.stderr.write(`jobq: ${err.message}\n`);
    process.exit(EXIT.usage);
  }
  if (err instanceof JobqError) {
    process.stderr.write(`jobq: ${err.code}: ${err.message}\n`);
    process.exit(err.code === 'store_unavailable' || err.code === 'invalid_option' ? EXIT.usage : EXIT.failed);
  }
  const e = err as { message?: string; code?: string } | null;
  process.stderr.write(`jobq: ${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}\n`);
  process.exit(EXIT.failed);
}

/** Runs a command's body; its result is the exit code. Server commands keep running: they return nothing. */
function run<A extends unknown[]>(body: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args) => {
    const code = await body(...args).catch(fail);
    if (typeof code === 'number') process.exitCode = code;
  };
}

/** Anything that stops serve, worker, migrate or prune before they are up is a start-up failure (exit 2). */
function starting<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    if (err instanceof SettingsError || err instanceof StartupError || err instanceof JobqError) throw err;
    throw new StartupError(`could not start: ${(err as Error | null)?.message ?? String(err)}`);
  });
}

type Opts = Record<string, string | boolean>;

const program = new Command('jobq')
  .description('A durable, fast job queue: an HTTP API and workers over SQLite, Postgres or memory.')
  .version(version(), '-v, --version', 'print the version')
  .helpOption('-h, --help', 'show help for a command')
  // Errors from commander itself (an unknown flag, a missing argument) become our one line and exit 2.
  .exitOverride()
  .configureOutput({ outputError: () => {} });

withSettings(program.command('serve').description('run the HTTP API and the workers'), ['http', 'workers', 'store', 'retention']).action(
  run((opts: Opts) => starting(Promise.resolve().then(() => runServer(parseSettings(opts), 'serve')))),
);

withSettings(program.command('worker').description('run workers only (share a store with a serve process)'), ['workers', 'store', 'retention']).action(
  run((opts: Opts) => starting(Promise.resolve().then(() => runServer(parseSettings(opts), 'worker')))),
);

withSettings(program.command('migrate').description("apply the store's migrations and exit (serve and worker also apply them at start)"), ['store']).action(
  run((opts: Opts) => starting(Promise.resolve().then(() => migrateCommand(parseSettings(opts)))).then(() => EXIT.ok)),
);

const RETENTION_KEYS = { retainCompleted: 'completed', retainFailed: 'failed', retainCancelled: 'cancelled' } as const;

withSettings(
  program
    .command('prune')
    .description('delete finished jobs past their retention now (the leader also does it every minute): straight from the store, or through a server with --url')
    .option('--url <url>', "ask the server at this URL (POST /v1/jobs/prune) instead of opening the store; only the retention flags given are sent, the server's own retention holds for the rest")
    .addOption(new Option('--token <secret>', 'an admin token, with --url').env('JOBQ_TOKEN'))
    .option('--json', 'print {"deleted": n, "byStatus": {…}}'),
  ['store', 'retention'],
).action(
  run((opts: Opts, cmd: Command) => {
    const given = Object.entries(RETENTION_KEYS)
      .filter(([key]) => ['cli', 'env'].includes(cmd.getOptionValueSource(key) ?? ''))
      .map(([, status]) => status);
    const flags = { json: opts.json === true, given, ...(typeof opts.url === 'string' && { url: opts.url }), ...(typeof opts.token === 'string' && { token: opts.token }) };
    return starting(Promise.resolve().then(() => pruneCommand(parseSettings(opts), flags)));
  }),
);

asClient(
  program
    .command('enqueue')
    .description('enqueue a job on a running server, or every line of an NDJSON file with --file')
    .option('--type <type>', 'handler name (required without --file)')
    .option('--file <path>', 'NDJSON: one job per line (the body of POST /v1/jobs), sent in batches with a progress bar and a summary')
    .option('--batch-size <n>', 'with --file: jobs per request, 1..1000 (default: 500)')
    .option('--in-flight <n>', 'with --file: requests at once, 1..64 (default: 4)')
    .option('--payload <json>', 'payload as JSON')
    .option('--queue <name>', 'queue (default: default)')
    .option('--priority <n>', 'higher runs first')
    .option('--max-attempts <n>', 'attempts before failed')
    .option('--delay-ms <ms>', 'run no earlier than this from now')
    .option('--timeout-ms <ms>', 'per-attempt time limit'),
).action(
  run((flags: EnqueueFlags & Partial<EnqueueFileFlags>) => {
    if (flags.file !== undefined) return enqueueFileCommand(flags as EnqueueFileFlags);
    if (flags.type === undefined) throw new SettingsError("required option '--type <type>' not specified (or give --file) (see jobq enqueue --help)");
    return enqueueCommand(flags);
  }),
);

asClient(
  program
    .command('status <id>')
    .description('show a job; with --wait, exit 0 once it completed, 1 if it failed or was cancelled, 3 if the wait ran out')
    .option('--wait', 'wait until the job is completed, failed or cancelled')
    .option('--wait-timeout-ms <ms>', 'give up waiting after this', '60000'),
).action(run((id: string, flags: StatusFlags & { token?: string }) => (flags.wait ? statusWaitCommand(id, flags) : statusCommand(id, flags))));

program
  .command('top')
  .description('a live view of the queues (depth, rates, wait, failures) from a running server; q quits')
  .addOption(new Option('--url <url>', 'server URL').env('JOBQ_URL').default(DEFAULT_URL))
  .addOption(new Option('--token <secret>', 'API token (jobq token create)').env('JOBQ_TOKEN'))
  .option('--interval-ms <ms>', 'redraw interval', '1000')
  .action(run(topCommand));

const jobs = program.command('jobs').description('list, show, cancel and retry jobs on a running server');
asClient(
  jobs
    .command('list')
    .description('a page of jobs (in the order they were made, with --queue alone in the order the queue received them, or in the order of a status filter); with --type, --key or a time, a page looks at up to 10,000 jobs and may come back short with a cursor to go on')
    .option('--queue <name>', 'only this queue')
    .option('--status <status>', 'only this status')
    .option('--type <type>', 'only this job type')
    .option('--key <key>', 'only the job(s) with this key (exact)')
    .option('--created-after <time>', 'only jobs created at or after: ISO 8601 (2030-01-01T12:00:00Z; no zone: local time) or a duration ago (30m, 2h, 7d)')
    .option('--created-before <time>', 'only jobs created before, as --created-after')
    .option('--limit <n>', 'page size, 1..500 (default: 50)')
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed'),
).action(run(jobsListCommand));
asClient(jobs.command('get <id>').description('show a job')).action(run(jobsGetCommand));
for (const action of ['cancel', 'retry'] as const) {
  asClient(jobs.command(`${action} <id>`).description(action === 'cancel' ? 'cancel a scheduled, pending or processing job' : 'put a failed or cancelled job back in line')).action(
    run((id: string, flags: ClientFlags) => jobsActionCommand(action, id, flags)),
  );
}

const queues = program.command('queues').alias('queue').description('list, pause, resume and limit queues on a running server');
asClient(
  queues
    .command('set <name>')
    .description("set a queue's cluster-wide flow control (every node obeys it from its next claim); `none` removes a limit")
    .option('--concurrency <n>', 'at most n jobs of the queue running at once, across all nodes')
    .option('--per-key-concurrency <n>', 'at most n jobs of one concurrencyKey running at once')
    .option('--rate-limit <max/interval>', 'at most max job starts per interval, e.g. 10/1s or 600/1m')
    .option('--per-key-rate-limit <max/interval>', 'the same per rateKey'),
).action(run(queueSetCommand));
asClient(queues.command('list').description('every queue with its paused flag and job counts per status')).action(run(queuesListCommand));
for (const action of ['pause', 'resume'] as const) {
  asClient(queues.command(`${action} <name>`).description(action === 'pause' ? 'stop claiming jobs of a queue (cluster-wide)' : 'resume claiming jobs of a queue')).action(
    run((name: string, flags: ClientFlags) => queuesActionCommand(action, name, flags)),
  );
}

const schedules = program.command('schedules').alias('schedule').description('cron schedules on a running server: the leader enqueues each slot once');
asClient(
  schedules
    .command('set <name>')
    .description('create or update a schedule (an unchanged definition keeps its next and last run)')
    .requiredOption('--cron <expr>', 'five fields (minute hour day month weekday), or six with seconds first')
    .requiredOption('--type <type>', 'the job type to enqueue at each slot')
    .option('--tz <zone>', 'IANA time zone the cron expression is read in (default: UTC)')
    .option('--payload <json>', "the job's payload as JSON")
    .option('--queue <name>', "the job's queue (default: default)")
    .option('--catch-up <mode>', 'after downtime: none (default), latest or all (at most 1,000)')
    .option('--paused', 'create it paused'),
).action(run(scheduleSetCommand));
asClient(schedules.command('list').description('every schedule with its next and last run')).action(run(scheduleListCommand));
for (const action of ['get', 'rm', 'pause', 'resume'] as const) {
  const what = { get: 'show a schedule', rm: 'remove a schedule (the jobs it enqueued stay)', pause: 'stop enqueuing slots of a schedule', resume: 'enqueue slots again, from the next one after now' }[action];
  asClient(schedules.command(`${action} <name>`).description(what)).action(run((name: string, flags: ClientFlags) => scheduleActionCommand(action, name, flags)));
}

const token = program.command('token').description('create, list and revoke API tokens: straight from the store, or through a server with --url');
/** The store's settings, or --url and --token to go through a server's admin routes. */
function tokenCommand(cmd: Command): Command {
  return withSettings(
    cmd
      .option('--url <url>', "ask the server at this URL (its /v1/tokens routes) instead of opening the store")
      .addOption(new Option('--token <secret>', 'an admin token, with --url').env('JOBQ_TOKEN'))
      .option('--json', 'print the JSON answer'),
    ['store'],
  );
}
/** Settings without the command's own flags (token create's --queues is not the workers' --queues). */
const storeSettings = (opts: Opts) => parseSettings({ ...opts, queues: undefined });
const tokenFlags = (opts: Opts) => ({ json: opts.json === true, ...(typeof opts.url === 'string' && { url: opts.url }), ...(typeof opts.token === 'string' && { token: opts.token }) });
tokenCommand(
  token
    .command('create')
    .description('create a token; prints its secret once, alone on stdout (only its SHA-256 is stored)')
    .requiredOption('--name <name>', 'a unique name')
    .requiredOption('--scopes <list>', 'comma-separated: jobs:read, jobs:write, worker, admin, metrics')
    .option('--queues <list>', 'limit it to these queues (default: every queue)'),
).action(
  run((opts: Opts) =>
    starting(Promise.resolve().then(() => storeSettings(opts))).then((settings) =>
      tokenCreateCommand(settings, { ...tokenFlags(opts), name: String(opts.name), scopes: String(opts.scopes), ...(typeof opts.queues === 'string' && { queues: opts.queues }) }),
    ),
  ),
);
tokenCommand(token.command('list').description('tokens by name, never their secrets').option('--all', 'also revoked tokens')).action(
  run((opts: Opts) => starting(Promise.resolve().then(() => storeSettings(opts))).then((settings) => tokenListCommand(settings, { ...tokenFlags(opts), all: opts.all === true }))),
);
tokenCommand(token.command('revoke <name>').description('revoke a token: every server refuses it within a second')).action(
  run((name: string, opts: Opts) => starting(Promise.resolve().then(() => storeSettings(opts))).then((settings) => tokenRevokeCommand(settings, name, tokenFlags(opts)))),
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) fail(err);
  // --help and --version end here with 0; `jobq` or `jobq jobs` alone printed their help on stderr.
  if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
  if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') process.exit(EXIT.usage);
  const command = process.argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2);
  const known = program.commands.find((c) => c.name() === command[0]);
  const sub = known?.commands.find((c) => c.name() === command[1]);
  const where = known ? `jobq ${known.name()}${sub ? ` ${sub.name()}` : ''} --help` : 'jobq --help';
  process.stderr.write(`jobq: ${err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see ${where})\n`);
  process.exit(EXIT.usage);
}
