/**
 * Measuring what a run costs the Postgres server, for the benches that do
 * (bench:kafka, bench:pg-cost): its processes' CPU read from /proc, a
 * checkpoint before a run, and a VACUUM of the run's schema inside its
 * window, so that each run pays for its own dead rows and autovacuum cannot
 * put one run's work into another's window.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { withClient } from '../test/helpers/pg-client.js';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** One statement on a connection of its own. */
export function once<T extends object>(url: string, sql: string): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(sql)).rows);
}

/** The fields of /proc/<pid>/stat after the command name, or null once the process is gone. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The postmaster: the parent of the server's checkpointer, which lives as long as it does (its pid is visible without superuser). */
export async function postmasterPid(url: string): Promise<number> {
  const [row] = await once<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
  const parent = row ? Number(statFields(row.pid)?.[1]) : 0;
  if (!parent) throw new Error('cannot find the Postgres postmaster process (is the server on this machine?)');
  return parent;
}

/** CPU seconds of the Postgres server so far: the postmaster and its reaped children (utime, stime, cutime, cstime), plus its live children. */
export function serverCpuSeconds(postmaster: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // After the ")": state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14). A child gone meanwhile moved its time to the postmaster's cutime/cstime.
    const f = statFields(entry);
    if (!f) continue;
    if (Number(entry) === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS;
}

/**
 * A checkpoint before each measured run, so that none falls inside one by
 * chance (a timed checkpoint comes 5 minutes after the last). Needs superuser
 * or pg_checkpoint; without it the runs go on, and the bench says so once.
 */
let checkpointRefused = false;
export async function checkpoint(url: string): Promise<void> {
  if (checkpointRefused) return;
  try {
    await once(url, 'CHECKPOINT');
  } catch (err) {
    checkpointRefused = true;
    log(`no CHECKPOINT before the runs (${(err as Error).message}): a timed checkpoint may fall inside one`);
  }
}

/** VACUUM (ANALYZE with `analyze`) of every table of the schema, on one connection (it runs inside a measured window). */
export function vacuumSchema(url: string, schema: string, analyze = false): Promise<void> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string }>(`SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = $1`, [schema]);
    await c.query(`VACUUM ${analyze ? '(ANALYZE) ' : ''}${rows.map((r) => r.t).join(', ')}`);
  });
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  await once(url, `SET client_min_messages = warning; DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * The server's CPU seconds over `work` and the VACUUM of `schema` after it
 * (the dead rows the work left are its cost), a checkpoint just before.
 */
export async function serverCpuOf(url: string, postmaster: number, schema: string, work: () => Promise<void>): Promise<number> {
  await checkpoint(url);
  const cpu0 = serverCpuSeconds(postmaster);
  await work();
  await vacuumSchema(url, schema);
  return serverCpuSeconds(postmaster) - cpu0;
}
