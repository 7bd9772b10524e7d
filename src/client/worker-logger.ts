/**
 * What a remote worker logs through, and hands its handlers as `ctx.log`:
 * pino's interface (pass a pino logger as `logger`), or by default a small
 * logger writing JSON lines to stderr, so `jobq/client` loads no package.
 */
import type { Logger } from 'pino';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
type Level = keyof typeof LEVELS;

/** A JSON-lines logger with pino's level methods and child(); enough for handlers and the worker itself. */
export function consoleLogger(level: Level = 'info', bindings: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = LEVELS[level];
  const method = (name: Exclude<Level, 'silent'>) => (objOrMsg?: unknown, msg?: string) => {
    if (LEVELS[name] < threshold) return;
    const obj = typeof objOrMsg === 'object' && objOrMsg !== null ? (objOrMsg as Record<string, unknown>) : {};
    const text = typeof objOrMsg === 'string' ? objOrMsg : msg;
    const err = obj.err instanceof Error ? { type: obj.err.name, message: obj.err.message, ...((obj.err as { code?: unknown }).code !== undefined && { code: (obj.err as { code?: unknown }).code }) } : obj.err;
    write(`${JSON.stringify({ level: LEVELS[name], time: Date.now(), ...bindings, ...obj, ...(err !== undefined && { err }), ...(text !== undefined && { msg: text }) })}\n`);
  };
  const logger = {
    level,
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    silent: () => {},
    isLevelEnabled: (l: string) => (LEVELS[l as Level] ?? Infinity) >= threshold,
    child: (more: Record<string, unknown>) => consoleLogger(level, { ...bindings, ...more }, write),
    bindings: () => bindings,
  };
  // Not every pino method is here (no transports, no serializers): enough for ctx.log and the worker.
  return logger as unknown as Logger;
}
