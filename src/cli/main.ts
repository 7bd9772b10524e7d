#!/usr/bin/env node
/**
 * The `jobq` command. The only place that reads argv and env. Every way a
 * command can fail to start (a bad setting, a port in use, a store that
 * cannot open, a server that cannot be reached) is one line on stderr and
 * exit code 2, never a stack trace.
 */
import { Command, Option } from 'commander';
import { JobqError } from '../contracts/errors.js';
import { enqueueCommand, statusCommand } from './client-commands.js';
import { migrateCommand, runServer } from './run-server.js';
import { parseSettings, SETTINGS, SettingsError, SWITCHES, type Scope } from './settings.js';
import { StartupError } from './startup-error.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

// A reader that went away (EPIPE on a closed pipe) must not crash a server that is draining.
for (const out of [process.stdout, process.stderr]) out.on('error', () => {});

/** Adds the settings of the given scopes, so each command's --help lists only what it uses. */
function withSettings(cmd: Command, scopes: readonly Scope[]): Command {
  for (const [key, s] of Object.entries(SWITCHES)) {
    if (scopes.includes(s.scope)) cmd.option(s.flag, s.help);
    void key;
  }
  for (const [key, s] of Object.entries(SETTINGS)) {
    if (!scopes.includes(s.scope)) continue;
    const opt = new Option(s.flag, `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`).env(s.env);
    if (opt.attributeName() !== key) throw new Error(`flag ${s.flag} does not map to setting ${key}`);
    cmd.addOption(opt);
  }
  return cmd;
}

/** One line, no stack: exit 2 for anything that kept the command from starting, 1 for an error answer. */
export function fail(err: unknown): never {
  if (err instanceof SettingsError || err instanceof StartupError) {
    process.stderr.write(`jobq: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof JobqError) {
    process.stderr.write(`jobq: ${err.code}: ${err.message}\n`);
    process.exit(err.code === 'store_unavailable' || err.code === 'invalid_option' ? 2 : 1);
  }
  const e = err as { message?: string; code?: string } | null;
  process.stderr.write(`jobq: ${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}\n`);
  process.exit(1);
}

const program = new Command('jobq').description('A durable, fast job queue.').showHelpAfterError();

withSettings(program.command('serve').description('run the HTTP API and the workers'), ['http', 'workers', 'store']).action(async (opts: Record<string, string | boolean>) => {
  await Promise.resolve()
    .then(() => runServer(parseSettings(opts), 'serve'))
    .catch(fail);
});

withSettings(program.command('worker').description('run workers only (share a store with a serve process)'), ['workers', 'store']).action(
  async (opts: Record<string, string | boolean>) => {
    await Promise.resolve()
      .then(() => runServer(parseSettings(opts), 'worker'))
      .catch(fail);
  },
);

withSettings(program.command('migrate').description("apply the store's migrations and exit (serve and worker also apply them at start)"), ['store']).action(
  async (opts: Record<string, string | boolean>) => {
    await Promise.resolve()
      .then(() => migrateCommand(parseSettings(opts)))
      .catch(fail);
  },
);

program
  .command('enqueue')
  .description('enqueue a job on a running server')
  .requiredOption('--type <type>', 'handler name')
  .option('--payload <json>', 'payload as JSON')
  .option('--queue <name>', 'queue (default: default)')
  .option('--priority <n>', 'higher runs first')
  .option('--max-attempts <n>', 'attempts before failed')
  .option('--delay-ms <ms>', 'run no earlier than this from now')
  .option('--timeout-ms <ms>', 'per-attempt time limit')
  .addOption(new Option('--url <url>', 'server URL').env('JOBQ_URL').default(DEFAULT_URL))
  .action(async (opts) => {
    await enqueueCommand(opts).catch(fail);
  });

program
  .command('status <id>')
  .description('show a job')
  .option('--wait', 'wait until the job is completed, failed or cancelled')
  .option('--wait-timeout-ms <ms>', 'give up waiting after this', '60000')
  .addOption(new Option('--url <url>', 'server URL').env('JOBQ_URL').default(DEFAULT_URL))
  .action(async (id: string, opts) => {
    await statusCommand(id, opts).catch(fail);
  });

await program.parseAsync(process.argv);
