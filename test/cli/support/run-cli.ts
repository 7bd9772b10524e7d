/** Runs the real `jobq` command once and collects what it printed and how it ended. */
import { execFile } from 'node:child_process';
import { CLI } from '../../helpers/spawn-server.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], { env = {} as Record<string, string | undefined>, timeoutMs = 20_000 } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      // Only the variables given here: a JOBQ_* in the test's own environment must not leak in.
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** Runs `fn` over `items`, at most `limit` at once (two cores: a few child processes at a time). */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The shape every start-up failure must have: one line on stderr, no stack, exit 2. */
export function oneLine(r: CliResult): string | null {
  const lines = r.stderr.split('\n').filter(Boolean);
  if (r.code !== 2) return `exit code ${r.code}, expected 2; stderr:\n${r.stderr}`;
  if (lines.length !== 1) return `${lines.length} lines on stderr, expected 1:\n${r.stderr}`;
  if (/^\s+at /m.test(r.stderr)) return `a stack trace on stderr:\n${r.stderr}`;
  if (!lines[0]!.startsWith('jobq: ')) return `the line does not start with "jobq: ": ${lines[0]}`;
  return null;
}
