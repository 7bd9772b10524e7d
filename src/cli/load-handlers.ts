/** Loads a user's handlers module: `export default { type: fn }` or named exports. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HandlerMap } from '../core/handler.js';
import { SettingsError } from './settings.js';

export async function loadHandlers(modulePath: string): Promise<HandlerMap> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new SettingsError(`invalid --handlers (JOBQ_HANDLERS): cannot load ${modulePath}: ${(err as Error).message}`);
  }
  const source = (typeof mod.default === 'object' && mod.default !== null ? mod.default : mod) as Record<string, unknown>;
  const handlers: HandlerMap = {};
  for (const [type, fn] of Object.entries(source)) {
    if (type === 'default') continue;
    if (typeof fn !== 'function') throw new SettingsError(`invalid --handlers (JOBQ_HANDLERS): export "${type}" of ${modulePath} is not a function`);
    handlers[type] = fn as HandlerMap[string];
  }
  if (Object.keys(handlers).length === 0) throw new SettingsError(`invalid --handlers (JOBQ_HANDLERS): ${modulePath} exports no handlers`);
  return handlers;
}
