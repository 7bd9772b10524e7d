/** `jobq enqueue` and `jobq status`: talk to a running server over HTTP. */
import { JobqClient } from '../client/jobq-client.js';
import type { EnqueueInput } from '../core/enqueue-input.js';
import { SettingsError } from './settings.js';
import { StartupError } from './startup-error.js';

/** A server that cannot be reached is one line naming the URL and the flag, like a bad setting. */
async function reach<T>(url: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof TypeError || (err as { name?: string }).name === 'TimeoutError') {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new StartupError(`cannot reach the jobq server at ${url} (--url, JOBQ_URL): ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    throw err;
  }
}

export interface EnqueueFlags {
  url: string;
  type: string;
  payload?: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  delayMs?: string;
  timeoutMs?: string;
}

function intFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new SettingsError(`invalid ${name}: expected an integer, got "${raw}"`);
  return n;
}

export async function enqueueCommand(flags: EnqueueFlags): Promise<void> {
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
  const job = await reach(flags.url, () => new JobqClient({ url: flags.url }).enqueue(input));
  process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
}

export async function statusCommand(id: string, flags: { url: string; wait?: boolean; waitTimeoutMs?: string }): Promise<void> {
  const client = new JobqClient({ url: flags.url });
  const deadline = Date.now() + (intFlag('--wait-timeout-ms', flags.waitTimeoutMs) ?? 60_000);
  let job = await reach(flags.url, () => client.get(id));
  while (flags.wait && !['completed', 'failed', 'cancelled'].includes(job.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    job = await reach(flags.url, () => client.get(id));
  }
  process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
}
