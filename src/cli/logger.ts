/**
 * The process logger: JSON lines on stdout through pino. Errors are logged by
 * type, code, message and stack only: a database driver's error detail can
 * quote a row (payload text included) and never reaches the log.
 *
 * Writes are asynchronous with a bounded buffer. pino's default synchronous
 * stdout blocked the whole process in write(2) once a parent stopped reading
 * the pipe (spawnSync with a timeout): SIGTERM could not even be handled.
 * Now a reader that stalls costs dropped log lines, never a hung process.
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
  /** Waits (at most `timeoutMs`) for buffered lines to reach stdout; never blocks on a stalled reader. */
  flush(timeoutMs: number): Promise<void>;
}

export function createLogger(level: string): ProcessLogger {
  const dest = pino.destination({ dest: 1, sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
  // stdout closed (EPIPE) or a write error: logging stops, the process goes on.
  dest.on('error', () => {});
  const logger = pino({ level, base: { pid: process.pid }, serializers: { err: safeError } }, dest);
  const flush = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      try {
        dest.flush(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  return { logger, flush };
}
