#!/usr/bin/env node
/** The `jobq` command. The only place that reads argv and env. */
import { Command, Option } from 'commander';
import { JobqError } from '../core/errors.js';
import { enqueueCommand, statusCommand } from './client-commands.js';
import { migrateCommand, runServer } from './run-server.js';
import { parseSettings, SETTINGS, SettingsError } from './settings.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

function withServerOptions(cmd: Command): Command {
  cmd.option('--no-listen', 'Postgres: poll instead of LISTEN/NOTIFY (behind PgBouncer in transaction mode); env JOBQ_PG_LISTEN=false');
  for (const [key, s] of Object.entries(SETTINGS)) {
    const opt = new Option(s.flag, `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`).env(s.env);
    if (opt.attributeName() !== key) throw new Error(`flag ${s.flag} does not map to setting ${key}`);
    cmd.addOption(opt);
  }
  return cmd;
}

function fail(err: unknown): never {
  if (err instanceof SettingsError) process.stderr.write(`jobq: ${err.message}\n`);
  else if (err instanceof JobqError) process.stderr.write(`jobq: ${err.code}: ${err.message}\n`);
  else process.stderr.write(`jobq: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(err instanceof SettingsError ? 2 : 1);
}

const program = new Command('jobq').description('A durable, fast job queue.').showHelpAfterError();

withServerOptions(program.command('serve').description('run the HTTP API and the workers')).action(async (opts: Record<string, string | boolean>) => {
  await runServer(parseSettings(opts), 'serve').catch(fail);
});

withServerOptions(program.command('worker').description('run workers only (share a store with a serve process)')).action(
  async (opts: Record<string, string | boolean>) => {
    await runServer(parseSettings(opts), 'worker').catch(fail);
  },
);

withServerOptions(program.command('migrate').description('apply the store\'s migrations and exit (serve and worker also apply them at start)')).action(
  async (opts: Record<string, string | boolean>) => {
    await migrateCommand(parseSettings(opts)).catch(fail);
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
  .option('--wait', 'poll until the job is completed, failed or cancelled')
  .option('--wait-timeout-ms <ms>', 'give up waiting after this', '60000')
  .addOption(new Option('--url <url>', 'server URL').env('JOBQ_URL').default(DEFAULT_URL))
  .action(async (id: string, opts) => {
    await statusCommand(id, opts).catch(fail);
  });

await program.parseAsync(process.argv);
