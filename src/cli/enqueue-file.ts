/**
 * `jobq enqueue --file jobs.ndjson`: one job per line (the body of
 * POST /v1/jobs), sent in batches (each all or none) with a few requests in
 * flight, a progress bar with rate and ETA on stderr when it is a terminal,
 * and a summary. A line that is not JSON, or a batch the server refuses,
 * is reported with its line numbers and counted; the rest still go.
 * Exit 0 when every line was enqueued, 1 otherwise.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { JobqClient } from '../client/jobq-client.js';
import { isNetworkError } from '../client/transport.js';
import { EXIT } from './exit-codes.js';
import { reach } from './client-commands.js';
import { SettingsError } from './settings.js';

export interface EnqueueFileFlags {
  url: string;
  token?: string;
  file: string;
  batchSize?: string;
  inFlight?: string;
  json?: boolean;
}

const int = (name: string, raw: string | undefined, dflt: number, min: number, max: number) => {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new SettingsError(`invalid ${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
  return n;
};

export function progressBar(done: number, total: number | null, elapsedMs: number, width = 30): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const rateText = `${Math.round(rate).toLocaleString('en-US')} jobs/s`;
  if (total === null || total === 0) return `${done.toLocaleString('en-US')} jobs  ${rateText}`;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * width);
  const eta = rate > 0 ? Math.max(0, (total - done) / rate) : null;
  const etaText = eta === null ? 'ETA -' : `ETA ${eta < 60 ? `${Math.ceil(eta)}s` : `${Math.floor(eta / 60)}m${String(Math.ceil(eta % 60)).padStart(2, '0')}s`}`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${Math.floor(frac * 100)}%  ${rateText}  ${etaText}`;
}

/** Lines in the file (a quick pass, for the bar's total and ETA). */
async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) if (line.trim() !== '') n++;
  return n;
}

export async function enqueueFileCommand(flags: EnqueueFileFlags): Promise<number> {
  const batchSize = int('--batch-size', flags.batchSize, 500, 1, 1000);
  const inFlight = int('--in-flight', flags.inFlight, 4, 1, 64);
  try {
    if (!statSync(flags.file).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new SettingsError(`invalid --file: cannot read "${flags.file}" (${(err as Error).message})`);
  }
  const client = new JobqClient({ url: flags.url, timeoutMs: 60_000, ...(flags.token && { token: flags.token }) });
  // The server must be there before reading a large file.
  await reach(flags, () => client.queues({ limit: 1 }));
  const total = await countLines(flags.file);
  const tty = process.stderr.isTTY && !flags.json;
  const started = Date.now();
  let enqueued = 0;
  let deduplicated = 0;
  const failures: { lines: string; reason: string; count: number }[] = [];
  let lastDraw = 0;
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    process.stderr.write(`\r\x1b[2K${progressBar(enqueued + failures.reduce((a, f) => a + f.count, 0), total, now - started)}`);
  };

  const running = new Set<Promise<void>>();
  const send = (batch: unknown[], first: number) => {
    const p = client
      .enqueueMany(batch as never)
      .then((jobs) => {
        enqueued += jobs.length;
        deduplicated += jobs.filter((j) => (j as { deduplicated?: boolean }).deduplicated).length;
      })
      .catch((err: unknown) => {
        if (isNetworkError(err)) throw err; // the server went away: stop
        failures.push({ lines: `${first}-${first + batch.length - 1}`, reason: (err as Error).message, count: batch.length });
      })
      .finally(() => {
        running.delete(p);
        draw();
      });
    running.add(p);
    return p;
  };

  let batch: unknown[] = [];
  let batchFirst = 1;
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(flags.file), crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let job: unknown;
    try {
      job = JSON.parse(line) as unknown;
      if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new Error('a line must be one JSON object');
    } catch (err) {
      failures.push({ lines: String(lineNo), reason: err instanceof SyntaxError ? `not JSON: ${err.message}` : (err as Error).message, count: 1 });
      continue;
    }
    if (batch.length === 0) batchFirst = lineNo;
    batch.push(job);
    if (batch.length === batchSize) {
      if (running.size >= inFlight) await Promise.race(running);
      await reach(flags, async () => void send(batch, batchFirst));
      batch = [];
    }
  }
  if (batch.length > 0) send(batch, batchFirst);
  await reach(flags, () => Promise.all(running));
  draw(true);
  if (tty) process.stderr.write('\n');
  const seconds = (Date.now() - started) / 1000;
  const failed = failures.reduce((a, f) => a + f.count, 0);
  const summary = { enqueued, deduplicated, failed, lines: total, seconds: Number(seconds.toFixed(3)), jobsPerSecond: Math.round(enqueued / Math.max(seconds, 0.001)), failures };
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(`enqueued ${enqueued.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} jobs in ${seconds.toFixed(1)} s (${summary.jobsPerSecond.toLocaleString('en-US')} jobs/s)${deduplicated ? `, ${deduplicated} deduplicated by key` : ''}${failed ? `, ${failed} failed` : ''}\n`);
    for (const f of failures.slice(0, 10)) process.stdout.write(`  line ${f.lines}: ${f.reason}\n`);
    if (failures.length > 10) process.stdout.write(`  … and ${failures.length - 10} more\n`);
  }
  return failed === 0 ? EXIT.ok : EXIT.failed;
}
