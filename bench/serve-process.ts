/** Starts `jobq serve --port 0` as a child process and resolves with it and its URL once it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export async function startServeProcess(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url };
}

/** Every job a server holds, counted from GET /v1/queues (the benches' check that each acknowledged enqueue was stored once). */
export async function storedJobs(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/v1/queues`)).json()) as { queues: { counts: Record<string, number> }[] };
  return body.queues.reduce((n, q) => n + Object.values(q.counts).reduce((a, b) => a + b, 0), 0);
}
