/**
 * The commands that talk to a running server over HTTP: enqueue, status,
 * jobs list|get|cancel|retry, queues list|pause|resume. Tables for people by
 * default, the server's JSON with --json.
 */
import { JobqClient, type JobJson, type QueueJson } from '../client/jobq-client.js';
import { isNetworkError } from '../client/transport.js';
import { JOB_STATUSES, type JobStatus } from '../contracts/job.js';
import type { EnqueueInput } from '../core/enqueue-input.js';
import { parseDuration } from './duration.js';
import { EXIT } from './exit-codes.js';
import { jobDetail, jobTable, print, queueTable } from './format.js';
import { SettingsError } from './settings.js';
import { StartupError } from './startup-error.js';

export interface ClientFlags {
  url: string;
  /** An API token (--token, JOBQ_TOKEN). */
  token?: string;
  json?: boolean;
}

/** A client for the server at `url`, checked first: a URL that is not http(s) is a bad setting. */
export function serverClient(url: string, token?: string): JobqClient {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SettingsError(`invalid --url (JOBQ_URL): expected http://host:port, got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SettingsError(`invalid --url (JOBQ_URL): expected http:// or https://, got "${url}"`);
  return new JobqClient({ url, ...(token !== undefined && { token }) });
}

const client = (flags: ClientFlags) => serverClient(flags.url, flags.token);

/** A server that cannot be reached is one line naming the URL and the flag, like a bad setting. */
export async function reach<T>(target: ClientFlags | string, call: () => Promise<T>): Promise<T> {
  const url = typeof target === 'string' ? target : target.url;
  try {
    return await call();
  } catch (err) {
    if (isNetworkError(err)) {
      const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = e.name === 'AbortError' || e.name === 'TimeoutError' ? 'no answer in time' : (e.code ?? e.cause?.code ?? e.cause?.message ?? e.message);
      throw new StartupError(`cannot reach the jobq server at ${url} (--url, JOBQ_URL): ${why}`);
    }
    throw err;
  }
}

function intFlag(name: string, raw: string | undefined, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new SettingsError(`invalid ${name}: expected an integer${min > Number.MIN_SAFE_INTEGER ? ` from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}` : ''}, got "${raw}"`);
  }
  return n;
}

export interface EnqueueFlags extends ClientFlags {
  type: string;
  payload?: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  delayMs?: string;
  timeoutMs?: string;
}

export async function enqueueCommand(flags: EnqueueFlags): Promise<number> {
  const input: EnqueueInput = { type: flags.type };
  if (flags.payload !== undefined) {
    try {
      input.payload = JSON.parse(flags.payload) as unknown;
    } catch {
      throw new SettingsError(`invalid --payload: not JSON: ${flags.payload}`);
    }
  }
  if (flags.queue !== undefined) input.queue = flags.queue;
  const numbers = { priority: flags.priority, maxAttempts: flags.maxAttempts, delayMs: flags.delayMs, timeoutMs: flags.timeoutMs };
  for (const [k, v] of Object.entries(numbers)) {
    const n = intFlag(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, v);
    if (n !== undefined) (input as unknown as Record<string, number>)[k] = n;
  }
  const c = client(flags);
  const job = await reach(flags, () => c.enqueue(input));
  print(!!flags.json, job, () => `enqueued ${job.id} (${job.type} on ${job.queue}, ${job.status})`);
  return EXIT.ok;
}

const FINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface StatusFlags extends ClientFlags {
  wait?: boolean;
  waitTimeoutMs?: string;
}

/**
 * Shows a job. With --wait, polls until it is completed (exit 0), failed or
 * cancelled (exit 1), or the wait runs out (exit 3, the job as it stands).
 */
export async function statusCommand(id: string, flags: StatusFlags): Promise<number> {
  const c = client(flags);
  const waitMs = intFlag('--wait-timeout-ms', flags.waitTimeoutMs, 1) ?? 60_000;
  const deadline = Date.now() + waitMs;
  let job = await reach(flags, () => c.get(id));
  let pollMs = 50;
  while (flags.wait && !FINAL.includes(job.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
    pollMs = Math.min(pollMs * 2, 500);
    job = await reach(flags, () => c.get(id));
  }
  print(!!flags.json, job, () => jobDetail(job));
  if (!flags.wait) return EXIT.ok;
  if (job.status === 'completed') return EXIT.ok;
  if (job.status === 'failed' || job.status === 'cancelled') {
    if (!flags.json) process.stderr.write(`jobq: job ${job.id} ${job.status}\n`);
    return EXIT.failed;
  }
  process.stderr.write(`jobq: job ${job.id} still ${job.status} after ${waitMs} ms (--wait-timeout-ms)\n`);
  return EXIT.waitTimedOut;
}

export interface ListFlags extends ClientFlags {
  queue?: string;
  status?: string;
  type?: string;
  key?: string;
  createdAfter?: string;
  createdBefore?: string;
  limit?: string;
  cursor?: string;
}

/**
 * A time flag as ISO 8601 for the server: a date or date-time (without a zone,
 * local time, as ISO 8601 reads it) or a duration before now (`30m`, `2h`, `7d`).
 */
function timeFlag(name: string, raw: string | undefined, now: number): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const ago = /^\d+(s|m|h|d|w)$/i.test(text) ? parseDuration(text) : undefined;
  // A date alone is read as local midnight too (Date.parse would take it as UTC).
  const ms = typeof ago === 'number' ? now - ago : /^\d{4}-\d{2}-\d{2}([T ]|$)/.test(text) ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text) : NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new SettingsError(`invalid ${name}: expected an ISO 8601 time (2030-01-01, 2030-01-01T12:00:00Z; without a zone, local time) or a duration before now (30m, 2h, 7d), got "${raw}"`);
  }
  return new Date(ms).toISOString();
}

/** A flag value as a shell word: single-quoted for a POSIX shell when it needs to be, each ' written as '\''. */
const shellWord = (v: string) => (/^[\w.:@/+=-]+$/.test(v) ? v : "'" + v.replaceAll("'", "'\\''") + "'");

export async function jobsListCommand(flags: ListFlags): Promise<number> {
  const c = client(flags);
  if (flags.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(flags.status)) {
    throw new SettingsError(`invalid --status: expected one of ${JOB_STATUSES.join(', ')}, got "${flags.status}"`);
  }
  const limit = intFlag('--limit', flags.limit, 1, 500);
  const now = Date.now();
  const filters: [string, string | undefined][] = [
    ['--queue', flags.queue],
    ['--status', flags.status],
    ['--type', flags.type],
    ['--key', flags.key],
    ['--created-after', timeFlag('--created-after', flags.createdAfter, now)],
    ['--created-before', timeFlag('--created-before', flags.createdBefore, now)],
  ];
  const [queue, status, type, key, createdAfter, createdBefore] = filters.map(([, v]) => v);
  const page = await reach(flags, () =>
    c.list({
      ...(queue !== undefined && { queue }),
      ...(status !== undefined && { status: status as JobStatus }),
      ...(type !== undefined && { type }),
      ...(key !== undefined && { key }),
      ...(createdAfter !== undefined && { createdAfter }),
      ...(createdBefore !== undefined && { createdBefore }),
      ...(limit !== undefined && { limit }),
      ...(flags.cursor !== undefined && { cursor: flags.cursor }),
    }),
  );
  print(!!flags.json, page, () => {
    const lines = [page.jobs.length === 0 ? 'no jobs' : jobTable(page.jobs)];
    // The times resolved once (a relative --created-after names the same instant on every page).
    if (page.nextCursor) lines.push(`more: jobq jobs list --cursor ${page.nextCursor}${filters.map(([flag, v]) => (v === undefined ? '' : ` ${flag} ${shellWord(v)}`)).join('')}`);
    return lines.join('\n');
  });
  return EXIT.ok;
}

export async function jobsGetCommand(id: string, flags: ClientFlags): Promise<number> {
  const c = client(flags);
  const job = await reach(flags, () => c.get(id));
  print(!!flags.json, job, () => jobDetail(job));
  return EXIT.ok;
}

export async function jobsActionCommand(action: 'cancel' | 'retry', id: string, flags: ClientFlags): Promise<number> {
  const c = client(flags);
  const job: JobJson = await reach(flags, () => (action === 'cancel' ? c.cancel(id) : c.retry(id)));
  print(!!flags.json, job, () => `${action === 'cancel' ? 'cancelled' : 'retried'} ${job.id} (now ${job.status})`);
  return EXIT.ok;
}

export async function queuesListCommand(flags: ClientFlags): Promise<number> {
  const c = client(flags);
  const queues: QueueJson[] = [];
  // Every page: a person wants all queues, and there are at most maxQueues.
  let cursor: string | undefined;
  do {
    const page = await reach(flags, () => c.queues({ limit: 500, ...(cursor !== undefined && { cursor }) }));
    queues.push(...page.queues);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  print(!!flags.json, { queues }, () => (queues.length === 0 ? 'no queues' : queueTable(queues)));
  return EXIT.ok;
}

export async function queuesActionCommand(action: 'pause' | 'resume', name: string, flags: ClientFlags): Promise<number> {
  const c = client(flags);
  const out = await reach(flags, () => (action === 'pause' ? c.pause(name) : c.resume(name)));
  print(!!flags.json, out, () => `${action === 'pause' ? 'paused' : 'resumed'} queue ${out.name}`);
  return EXIT.ok;
}
