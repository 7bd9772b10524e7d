/** The two durable backends as the chaos tests start them: CLI arguments plus a way to read the store. */
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/contracts/store.js';
import { freshSchema, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** CLI arguments selecting this store; the same for every node of one scenario. */
  args: string[];
  open(): Promise<Store>;
  cleanup(): void;
}

export async function makeBackend(name: 'sqlite' | 'postgres'): Promise<Backend> {
  if (name === 'sqlite') {
    const dir = tempDir('jobq-chaos-');
    const path = dir.file('jobs.db');
    return { name, args: ['--sqlite-path', path], open: async () => new SqliteStore({ path }), cleanup: () => dir.remove() };
  }
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  return {
    name,
    args: ['--store', 'postgres', '--database-url', url, '--pg-schema', schema],
    open: () => PostgresStore.open({ connectionString: url, schema }),
    cleanup: () => {},
  };
}

/** Counts by status over every job of the default queue, read straight from the store. */
export async function statusCounts(b: Backend): Promise<Record<string, number>> {
  const store = await b.open();
  try {
    const q = (await store.queueList({ limit: 1000 })).find((x) => x.name === 'default');
    return { ...q?.counts };
  } finally {
    await store.close();
  }
}

export async function missing(b: Backend, ids: string[]): Promise<number> {
  const store = await b.open();
  try {
    let n = 0;
    for (const id of ids) if (!(await store.jobGet(id))) n++;
    return n;
  } finally {
    await store.close();
  }
}

/** One line per scenario, as docs/reliability.md shows them. */
export function report(scenario: string, backend: string, r: { runs: number; acknowledged: number; lost: number; duplicated: number; stuck: number }): void {
  console.log(`chaos | ${scenario} | ${backend} | runs ${r.runs} | acknowledged ${r.acknowledged} | lost ${r.lost} | duplicated ${r.duplicated} | stuck ${r.stuck}`);
}
