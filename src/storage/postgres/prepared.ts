/**
 * Named prepared statements for the store's fixed statements. Sent unnamed,
 * every execution is parsed, analysed and planned again. Named, each
 * connection parses a statement once; the main pool still plans every call
 * for its parameters (plan_cache_mode=force_custom_plan), and the worker pool
 * lets Postgres keep a generic plan of its statements, which sql.ts writes
 * so that the generic plan is the right one (see postgres-store.ts). The parse alone
 * took a concurrency-1 drain from 1,207-1,350 to 1,513-1,535 jobs/s
 * (measured, interleaved).
 *
 * Two ways it can go wrong, both handled here: behind PgBouncer in
 * transaction mode (before 1.21) a statement prepared on one server
 * connection is unknown on the next, so it can be turned off
 * (`--no-prepare`); and when another node migrates the schema under a
 * running one, a statement returning `*` fails with "cached plan must not
 * change result type" on every connection that prepared it, so the first
 * such error turns names off for this store (the statement is retried
 * unnamed at once).
 */
import type pg from 'pg';

/** What a claim's statements need of a connection. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
  /** Whether its statements go named (a plan cache setting changes nothing otherwise). */
  readonly named: boolean;
}

export class PreparedStatements {
  private readonly names = new Map<string, string>();
  private on: boolean;

  constructor(statementSets: readonly object[], enabled: boolean) {
    this.on = enabled;
    for (const set of statementSets) for (const text of Object.values(set)) if (typeof text === 'string' && !this.names.has(text)) this.names.set(text, `jobq_${this.names.size}`);
  }

  /** How to send `text`: named when it is one of the store's fixed statements and names are on. */
  config(text: string, values: unknown[]): pg.QueryConfig {
    const name = this.on ? this.names.get(text) : undefined;
    return name === undefined ? { text, values } : { name, text, values };
  }

  /** A transaction's client whose queries go named like the pool's (flow.ts takes one). */
  client(c: pg.ClientBase): Queryable {
    return { query: <R extends pg.QueryResultRow>(text: string, values: unknown[]) => c.query<R>(this.config(text, values)), named: this.on };
  }

  /** True (and names off from now on) when `err` says a prepared statement's result type changed under it. */
  staleAfter(err: unknown): boolean {
    const e = err as { code?: string; message?: string };
    if (!this.on || e.code !== '0A000' || !/cached plan must not change result type/.test(e.message ?? '')) return false;
    this.on = false;
    return true;
  }
}
