/**
 * What the client commands print: plain tables and key/value blocks for
 * people, and with --json the server's JSON as is, one document, for scripts.
 */
import type { JobJson, QueueJson } from '../client/jobq-client.js';
import { JOB_STATUSES } from '../contracts/job.js';

const DASH = '—';

/** Left-aligned columns separated by two spaces; the header row in capitals. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}

const time = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : DASH);
const json = (v: unknown) => (v === undefined ? DASH : JSON.stringify(v));

export function jobTable(jobs: readonly JobJson[]): string {
  return table(
    ['id', 'queue', 'type', 'status', 'attempts', 'created', 'run at'],
    jobs.map((j) => [j.id, j.queue, j.type, j.status, `${j.attempts}/${j.maxAttempts}`, time(j.createdAt), time(j.runAt)]),
  );
}

/** One job as `key  value` lines, its errors last. */
export function jobDetail(j: JobJson): string {
  const rows: [string, string][] = [
    ['id', j.id],
    ['type', j.type],
    ['queue', j.queue],
    ['status', j.status],
    ['attempts', `${j.attempts} of ${j.maxAttempts}`],
    ['priority', String(j.priority)],
    ['timeout', j.timeoutMs === null ? 'none' : `${j.timeoutMs} ms`],
    ['created', time(j.createdAt)],
    ['run at', time(j.runAt)],
    ['started', time(j.startedAt)],
    ['finished', time(j.finishedAt)],
    ['lease until', time(j.leaseExpiresAt)],
    ['progress', j.progress === null ? DASH : String(j.progress)],
    ['payload', json(j.payload)],
    ['result', json(j.result)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const out = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (j.errors.length > 0) {
    out.push('errors');
    for (const e of j.errors) out.push(`  attempt ${e.attempt}  ${time(e.at)}  ${e.message.split('\n')[0]}`);
  }
  return out.join('\n');
}

const STATUS_COLUMNS = JOB_STATUSES;

export function queueTable(queues: readonly QueueJson[]): string {
  return table(
    ['queue', 'paused', ...STATUS_COLUMNS, 'unhandled'],
    queues.map((q) => [q.name, q.paused ? 'yes' : 'no', ...STATUS_COLUMNS.map((s) => String(q.counts[s] ?? 0)), String(q.unhandled)]),
  );
}

/** Prints one document: JSON for --json, else the human form. */
export function print(asJson: boolean, value: unknown, human: () => string): void {
  process.stdout.write(`${asJson ? JSON.stringify(value, null, 2) : human()}\n`);
}
