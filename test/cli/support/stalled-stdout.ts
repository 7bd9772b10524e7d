/**
 * A `jobq` child process whose stdout is a pipe nobody reads: a FIFO whose
 * read end this process holds open (non-blocking) and never drains once the
 * listening line has been seen. The kernel pipe fills (64 KiB on Linux) and
 * every further write of the child would block or get EAGAIN.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { CLI } from '../../helpers/spawn-server.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';

export interface StalledServer {
  child: ChildProcess;
  url: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  /** Bytes still sitting in the pipe (call after the child exited): what nobody read. */
  unreadBytes(): number;
  cleanup(): void;
}

function readAvailable(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

export async function spawnWithStalledStdout(args: string[]): Promise<StalledServer> {
  const dir = tempDir('jobq-stall-');
  const fifo = dir.file('stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { stdio: ['ignore', writeFd, 'pipe'] });
  closeSync(writeFd);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() })),
  );
  let seen = '';
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`jobq exited before listening: ${err}`);
      seen += readAvailable(readFd).toString();
      return /\{"listening":"([^"]+)"\}/.exec(seen)?.[1];
    },
    { timeoutMs: 15_000, intervalMs: 20, what: 'the listening line' },
  );
  // From here on nobody reads the pipe.
  return {
    child,
    url,
    stderr: () => err,
    exited,
    unreadBytes: () => readAvailable(readFd).length,
    cleanup: () => {
      child.kill('SIGKILL');
      closeSync(readFd);
      dir.remove();
    },
  };
}
