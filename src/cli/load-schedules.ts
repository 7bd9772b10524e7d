/** --schedules <file>: cron schedules declared in a JSON file, checked by the core when the server starts. */
import { readFile } from 'node:fs/promises';
import type { ScheduleInput } from '../core/schedules/schedule-api.js';
import { StartupError } from './startup-error.js';

export async function loadSchedules(path: string): Promise<ScheduleInput[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StartupError(`cannot read --schedules (JOBQ_SCHEDULES) ${path}: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StartupError(`--schedules (JOBQ_SCHEDULES) ${path} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new StartupError(`--schedules (JOBQ_SCHEDULES) ${path}: expected an array of schedules, [{ "name", "cron", "job": { "type" } }]`);
  return parsed as ScheduleInput[];
}
