/** Runs the real `jobq` CLI as a child process and finds its port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const FIXTURE_HANDLERS = fileURLToPath(new URL('../fixtures/handlers.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed, for failure messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnServer(
  args: string[],
  { command = 'serve', timeoutMs = 15_000, env = {} as Record<string, string> } = {},
): Promise<ServerProcess> {
  const portArgs = command === 'serve' ? ['--port', '0'] : [];
  const child = spawn(process.execPath, [CLI, command, ...portArgs, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stderr!.on('data', (d) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m && command === 'serve') {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    if (command === 'worker') {
      // A worker prints nothing on stdout; it is up once its start-up log line is out.
      child.stdout!.on('data', () => {
        if (out.includes('{"worker":"running"')) {
          clearTimeout(timer);
          resolve('');
        }
      });
    }
    void exited.then(({ code }) => {
      // Else the timer keeps the test file's process alive for up to timeoutMs after a server that was meant to fail.
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}
