/**
 * `jobq status <id> --wait`: follows the job on the event stream and shows
 * it moving (status, attempt, progress, errors) until it completes (exit 0),
 * fails or is cancelled (exit 1), or the wait runs out (exit 3). A server
 * without the stream is polled instead. The final answer is printed as
 * `jobq status` prints it (or the job's JSON with --json).
 */
import { JobqClient, type JobJson } from '../client/jobq-client.js';
import { EXIT } from './exit-codes.js';
import { jobDetail, print } from './format.js';
import { reach } from './client-commands.js';
import { SettingsError } from './settings.js';
import { followStream } from './top-stream.js';

export interface StatusWaitFlags {
  url: string;
  token?: string;
  json?: boolean;
  waitTimeoutMs?: string;
}

const FINAL = ['completed', 'failed', 'cancelled'];

export function describeEvent(e: { kind: string; status: string; attempt: number; progress?: number; error?: string }): string {
  switch (e.kind) {
    case 'started':
      return `processing (attempt ${e.attempt})`;
    case 'progress':
      return `processing (attempt ${e.attempt}) progress ${e.progress}`;
    case 'retrying':
      return `attempt ${e.attempt} failed: ${e.error ?? ''}; retrying`;
    case 'failed':
      return `failed: ${e.error ?? ''}`;
    case 'lease_lost':
      return `attempt ${e.attempt} lost its lease; ${e.status}`;
    default:
      return e.status;
  }
}

export async function statusWaitCommand(id: string, flags: StatusWaitFlags): Promise<number> {
  const raw = flags.waitTimeoutMs ?? '60000';
  const waitMs = Number(raw);
  if (!/^\d+$/.test(raw) || waitMs < 1) throw new SettingsError(`invalid --wait-timeout-ms: expected an integer from 1, got "${raw}"`);
  const client = new JobqClient({ url: flags.url, ...(flags.token && { token: flags.token }) });
  const show = !flags.json;
  const tty = process.stderr.isTTY;
  // Progress is for people: on a terminal, one line rewritten as the job moves; scripts get only the outcome.
  const say = (text: string) => {
    if (show && tty) process.stderr.write(`\r\x1b[2K${text}`);
  };
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), waitMs);
  let job: JobJson = await reach(flags, () => client.get(id));
  say(`${job.id}: ${job.status}${job.progress !== null ? ` progress ${job.progress}` : ''}`);
  if (!FINAL.includes(job.status)) {
    const base = flags.url.replace(/\/+$/, '');
    let sawFinal = false;
    const followed = followStream(
      `${base}/v1/events?jobId=${encodeURIComponent(id)}`,
      flags.token,
      {
        // Connected: read the job again, so a change between the first read and the subscription is not missed.
        open: () =>
          void client.get(id).then((j) => {
            say(`${j.id}: ${j.status}${j.progress !== null ? ` progress ${j.progress}` : ''}`);
            if (FINAL.includes(j.status)) {
              sawFinal = true;
              ctl.abort();
            }
          }, () => {}),
        frame: (f) => {
          if (f.event !== 'message') return;
          const e = f.data as { kind: string; status: string; attempt: number; progress?: number; error?: string };
          say(`${id}: ${describeEvent(e)}`);
          if (FINAL.includes(e.status)) {
            sawFinal = true;
            ctl.abort();
          }
        },
      },
      ctl.signal,
    ).catch(async (err: unknown) => {
      // No stream on that server (or not for this token): poll as before.
      if ((err as { status?: number }).status === undefined) throw err;
      let pollMs = 50;
      while (!ctl.signal.aborted) {
        await new Promise((r) => setTimeout(r, pollMs));
        pollMs = Math.min(pollMs * 2, 500);
        const j = await client.get(id);
        if (FINAL.includes(j.status)) {
          sawFinal = true;
          ctl.abort();
        }
      }
    });
    await followed;
    void sawFinal;
    job = await reach(flags, () => client.get(id));
  }
  clearTimeout(timer);
  if (show && tty) process.stderr.write('\n');
  print(!!flags.json, job, () => jobDetail(job));
  if (job.status === 'completed') return EXIT.ok;
  if (job.status === 'failed' || job.status === 'cancelled') {
    if (show) process.stderr.write(`jobq: job ${job.id} ${job.status}\n`);
    return EXIT.failed;
  }
  process.stderr.write(`jobq: job ${job.id} still ${job.status} after ${waitMs} ms (--wait-timeout-ms)\n`);
  return EXIT.waitTimedOut;
}
