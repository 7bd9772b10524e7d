/**
 * The process logger: JSON lines on stdout through pino. Errors are logged by
 * type, code, message and stack only: a database driver's error detail can
 * quote a row (payload text included) and never reaches the log.
 *
 * Lines go through process.stdout, bounded, and are dropped once 4 MiB are
 * queued: a reader that stalls costs log lines, never a hung process. Both of
 * pino's own destinations hang when the parent stops reading the pipe
 * (reproduced with spawnSync(…, { timeout }), whose child never exited):
 *   - sync (pino's default): write(2) returns EAGAIN and SonicBoom retries
 *     forever, sleeping in Atomics.wait on the main thread, so no signal
 *     handler ever runs again;
 *   - async (`sync: false`): a libuv thread-pool thread blocks in write(2) on
 *     the still-blocking fd 1, and process.exit() then waits forever joining
 *     the pool; if the fd is non-blocking instead, pino's exit hook flushes
 *     synchronously and loops on EAGAIN as above.
 * process.stdout on a pipe is a non-blocking libuv stream: its queue is just
 * abandoned at exit. (On a file or a terminal it writes synchronously, which
 * a stalled reader cannot block forever.)
 */
import pino, { type Logger } from 'pino';

interface SafeError {
  type: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: SafeError;
}

export function safeError(err: unknown, depth = 0): SafeError | unknown {
  if (typeof err !== 'object' || err === null) return err;
  const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; cause?: unknown; constructor?: { name?: string } };
  const out: SafeError = { type: String(e.constructor?.name ?? e.name ?? 'Error'), message: String(e.message ?? '') };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (e.cause !== undefined && depth < 3) out.cause = safeError(e.cause, depth + 1) as SafeError;
  return out;
}

const MAX_BUFFERED_LOG_BYTES = 4 * 1024 * 1024;

export interface ProcessLogger {
  logger: Logger;
  /** Waits (at most `timeoutMs`) for queued lines to reach stdout; never blocks on a stalled reader. */
  flush(timeoutMs: number): Promise<void>;
}

/** pino's destination: process.stdout with a bound on what may wait in its queue. */
function boundedStdout(maxQueuedBytes: number): { write(line: string): void } {
  const out = process.stdout;
  // stdout closed (EPIPE) or a write error: logging stops, the process goes on.
  out.on('error', () => {});
  return {
    write(line) {
      if (out.writableLength <= maxQueuedBytes && !out.destroyed) out.write(line);
    },
  };
}

export function createLogger(level: string): ProcessLogger {
  const logger = pino({ level, base: { pid: process.pid }, serializers: { err: safeError } }, boundedStdout(MAX_BUFFERED_LOG_BYTES));
  const flush = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const out = process.stdout;
      if (out.writableLength === 0 || out.destroyed) return resolve();
      const done = () => {
        clearTimeout(timer);
        out.off('drain', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      out.on('drain', done);
    });
  return { logger, flush };
}
