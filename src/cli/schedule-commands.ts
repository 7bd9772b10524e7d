/**
 * `jobq schedules set|list|get|rm|pause|resume` against a running server,
 * and `jobq queues set` for a queue's flow control. Tables for people, the
 * server's JSON with --json.
 */
import type { QueueSettingsJson, RateLimitJson, ScheduleDefinition, ScheduleJson } from '../client/jobq-client.js';
import { reach, serverClient, type ClientFlags } from './client-commands.js';
import { parseDuration } from './duration.js';
import { EXIT } from './exit-codes.js';
import { print, table } from './format.js';
import { SettingsError } from './settings.js';

const DASH = '—';
const time = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : DASH);

export function scheduleTable(schedules: readonly ScheduleJson[]): string {
  return table(
    ['name', 'cron', 'tz', 'type', 'queue', 'next run', 'last run', 'state'],
    schedules.map((s) => [s.name, s.cron, s.tz, s.job.type, s.job.queue ?? 'default', time(s.nextRunAt), time(s.lastRunAt), s.paused ? 'paused' : 'active']),
  );
}

export interface ScheduleSetFlags extends ClientFlags {
  cron: string;
  type: string;
  tz?: string;
  payload?: string;
  queue?: string;
  catchUp?: string;
  paused?: boolean;
}

export async function scheduleSetCommand(name: string, flags: ScheduleSetFlags): Promise<number> {
  const def: ScheduleDefinition = { cron: flags.cron, job: { type: flags.type } };
  if (flags.tz !== undefined) def.tz = flags.tz;
  if (flags.queue !== undefined) def.job.queue = flags.queue;
  if (flags.payload !== undefined) {
    try {
      def.job.payload = JSON.parse(flags.payload) as unknown;
    } catch {
      throw new SettingsError(`invalid --payload: not JSON: ${flags.payload}`);
    }
  }
  if (flags.catchUp !== undefined) {
    if (!['none', 'latest', 'all'].includes(flags.catchUp)) throw new SettingsError(`invalid --catch-up: expected none, latest or all, got "${flags.catchUp}"`);
    def.catchUp = flags.catchUp as 'none' | 'latest' | 'all';
  }
  if (flags.paused) def.paused = true;
  const out = await reach(flags, () => serverClient(flags.url).schedules.upsert(name, def));
  print(!!flags.json, out, () => `${out.changed ? 'saved' : 'unchanged'} schedule ${name}: next run ${time(out.schedule.nextRunAt)}`);
  return EXIT.ok;
}

export async function scheduleListCommand(flags: ClientFlags): Promise<number> {
  const c = serverClient(flags.url);
  const schedules: ScheduleJson[] = [];
  let cursor: string | undefined;
  do {
    const page = await reach(flags, () => c.schedules.list({ limit: 500, ...(cursor !== undefined && { cursor }) }));
    schedules.push(...page.schedules);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  print(!!flags.json, { schedules }, () => (schedules.length === 0 ? 'no schedules' : scheduleTable(schedules)));
  return EXIT.ok;
}

export async function scheduleActionCommand(action: 'get' | 'rm' | 'pause' | 'resume', name: string, flags: ClientFlags): Promise<number> {
  const c = serverClient(flags.url);
  if (action === 'rm') {
    await reach(flags, () => c.schedules.remove(name));
    print(!!flags.json, { name, removed: true }, () => `removed schedule ${name}`);
    return EXIT.ok;
  }
  const s = await reach(flags, () => (action === 'get' ? c.schedules.get(name) : action === 'pause' ? c.schedules.pause(name) : c.schedules.resume(name)));
  print(!!flags.json, s, () => (action === 'get' ? scheduleTable([s]) : `${action === 'pause' ? 'paused' : 'resumed'} schedule ${name}: next run ${time(s.nextRunAt)}`));
  return EXIT.ok;
}

export interface QueueSetFlags extends ClientFlags {
  concurrency?: string;
  perKeyConcurrency?: string;
  rateLimit?: string;
  perKeyRateLimit?: string;
}

/** `5`, or `none` to remove the limit. */
function slots(flag: string, raw: string): number | null {
  if (raw.trim().toLowerCase() === 'none') return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 1_000_000) throw new SettingsError(`invalid ${flag}: expected an integer from 1 to 1000000, or none, got "${raw}"`);
  return n;
}

/** `10/1s` (max per interval), or `none` to remove the limit. */
function rate(flag: string, raw: string): RateLimitJson | null {
  if (raw.trim().toLowerCase() === 'none') return null;
  const [max, interval, extra] = raw.split('/');
  const intervalMs = interval === undefined ? undefined : parseDuration(interval);
  if (extra !== undefined || max === undefined || !/^\d+$/.test(max.trim()) || typeof intervalMs !== 'number') {
    throw new SettingsError(`invalid ${flag}: expected max/interval such as 10/1s or 600/1m, or none, got "${raw}"`);
  }
  return { max: slots(flag, max)!, intervalMs };
}

const limitText = (s: QueueSettingsJson) =>
  [
    `concurrency ${s.concurrency ?? 'none'}`,
    `per key ${s.perKeyConcurrency ?? 'none'}`,
    `rate ${s.rateLimit ? `${s.rateLimit.max}/${s.rateLimit.intervalMs}ms` : 'none'}`,
    `per-key rate ${s.perKeyRateLimit ? `${s.perKeyRateLimit.max}/${s.perKeyRateLimit.intervalMs}ms` : 'none'}`,
  ].join(', ');

export async function queueSetCommand(name: string, flags: QueueSetFlags): Promise<number> {
  const settings: Partial<QueueSettingsJson> = {};
  if (flags.concurrency !== undefined) settings.concurrency = slots('--concurrency', flags.concurrency);
  if (flags.perKeyConcurrency !== undefined) settings.perKeyConcurrency = slots('--per-key-concurrency', flags.perKeyConcurrency);
  if (flags.rateLimit !== undefined) settings.rateLimit = rate('--rate-limit', flags.rateLimit);
  if (flags.perKeyRateLimit !== undefined) settings.perKeyRateLimit = rate('--per-key-rate-limit', flags.perKeyRateLimit);
  if (Object.keys(settings).length === 0) throw new SettingsError('jobq queues set: give at least one of --concurrency, --per-key-concurrency, --rate-limit, --per-key-rate-limit');
  const out = await reach(flags, () => serverClient(flags.url).configureQueue(name, settings));
  print(!!flags.json, out, () => `queue ${name}: ${limitText(out.settings)}`);
  return EXIT.ok;
}
