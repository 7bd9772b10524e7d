/**
 * Claims on Postgres: the plain SKIP LOCKED claim (sql.ts), the
 * flow-controlled one (flow.ts) and claims by id for broker dispatch
 * (outbox.ts), with what this node learnt of each queue on the way: which
 * queues have flow control, which hold ordering keys, and whose last claim
 * came back full.
 */
import type pg from 'pg';
import type { LeasedJob } from '../../contracts/job.js';
import type { ClaimedJobs, JobClaimByIdsParams, JobClaimParams } from '../../contracts/store.js';
import { KeyUsage } from '../flow-usage.js';
import { claimOrder, rowToLeasedJob, type JobRow } from '../job-row.js';
import { mapPgError } from './errors.js';
import { claimLimited, type FlowStatements } from './flow.js';
import type { OutboxStatements } from './outbox.js';
import type { Queryable } from './prepared.js';
import { claimFor, claimStatements, type ClaimKind, type JobStatements } from './sql.js';
import { DEFAULT_RETRY, withTransientRetry } from './transient.js';

/** What the claims use of their store: its statements, its worker pool and how it runs statements there. */
export interface ClaimsDeps {
  schema: string;
  sql: JobStatements;
  fsql: FlowStatements;
  osql: OutboxStatements;
  workerPool: pg.Pool;
  /** A transaction's client whose queries go named like the pool's (prepared.ts). */
  named(c: pg.ClientBase): Queryable;
  /** One statement (named when it may be), no retry. */
  send<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
  /** One statement, retried after a transient error (onRetry told), errors mapped. */
  query<R extends pg.QueryResultRow>(text: string, values: unknown[], pool: pg.Pool, onRetry?: () => void): Promise<pg.QueryResult<R>>;
  transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, onRetry: undefined, pool: pg.Pool): Promise<T>;
  onWarning(message: string, err: unknown): void;
}

/** Why a plain claim gave nothing (ordering.ts, whyNotClaimable). */
interface WhyNothing {
  limited: boolean;
  ordered: boolean;
}

/** A row of a plain claim: a claimed job, or NULLs when there is none, then what follows a short claim (sql.ts, AFTER_CLAIM). */
type ClaimRow = Omit<JobRow, 'id'> & { id: string | null; next_run_at?: number | null; why_limited?: boolean | null; why_ordered?: boolean | null };

export class PgClaims {
  /** The plain claims of each kind, in each size (sql.ts). */
  private readonly plain: Record<ClaimKind, string[]>;
  /** The same with their follow-up (sql.ts, AFTER_CLAIM): sent unless the queue is in `fullLast`. */
  private readonly withFollowUp: Record<ClaimKind, string[]>;
  /**
   * Queues whose last plain claim here came back full: their next claim goes without its
   * follow-up, which a full claim does not use. At a steady rate nearly every claim comes back
   * short and carries it; a drain's claims come back full and skip its cost. The one short claim
   * sent without it (a drain's last) has its caller look up apart.
   */
  private readonly fullLast = new Set<string>();
  /** Each key's recent use on flow-controlled queues, as this node's claims saw it (fair claims). */
  private readonly usage = new KeyUsage();
  /** Queues this node found to have flow control; their claims go through flow.ts directly. */
  private readonly limitedQueues = new Set<string>();
  /** Queues seen holding ordering keys (marked by migration 7's trigger): their claims check the order. */
  private readonly orderedQueues = new Set<string>();

  constructor(private readonly d: ClaimsDeps) {
    this.plain = claimStatements(d.schema);
    this.withFollowUp = claimStatements(d.schema, true);
  }

  /** Every claim statement, for the store's prepared-statement names. */
  get statements(): Record<ClaimKind, string[]>[] {
    return [this.plain, this.withFollowUp];
  }

  /** Whether this node found `queue` flow-controlled (its finishes free cluster-wide slots). */
  isLimited(queue: string): boolean {
    return this.limitedQueues.has(queue);
  }

  get anyLimited(): boolean {
    return this.limitedQueues.size > 0;
  }

  /**
   * A claim is retried after a lost connection; if the lost attempt had
   * committed, its jobs carry this claim's token: they are returned instead
   * of leasing a second batch (which used to leave the first stuck until its
   * lease expired, spending an attempt of jobs that never ran).
   */
  async claim(p: JobClaimParams): Promise<ClaimedJobs> {
    if (this.limitedQueues.has(p.queue)) {
      const limited = await this.claimLimited(p);
      if (limited) return limited;
    }
    const { jobs, why } = await this.claimPlain(p);
    if (jobs.length > 0) return jobs;
    // The plain claim gives nothing from a queue with flow control (or held), or from one holding
    // ordering keys while this store does not know it: look once (the claim said why, unless it was
    // retried), and remember.
    const { limited, newlyOrdered } = this.noteWhy(p.queue, why ?? (await this.whyNothing(p.queue, p.now)));
    if (!limited) return newlyOrdered ? (await this.claimPlain(p)).jobs : jobs;
    this.limitedQueues.add(p.queue);
    return (await this.claimLimited(p)) ?? jobs;
  }

  /** Broker dispatch (outbox.ts). A retried claim also returns what a lost attempt took under its token. */
  async claimByIds(p: JobClaimByIdsParams): Promise<LeasedJob[]> {
    if (this.orderedQueues.has(p.queue)) return this.byIds(p, true);
    const jobs = await this.byIds(p, false);
    // The plain form skips a queue holding ordering keys (a limited queue it refuses either way).
    return jobs.length === 0 && this.noteWhy(p.queue, await this.whyNothing(p.queue, p.now)).newlyOrdered ? this.byIds(p, true) : jobs;
  }

  /**
   * After a plain claim (or claim by id) of a queue came back empty: whether
   * the queue has flow control or a hold, and whether it holds ordering keys.
   */
  private async whyNothing(queue: string, now: number): Promise<WhyNothing> {
    const { rows } = await this.d.query<{ yes: boolean; ordered: boolean }>(this.d.fsql.limited, [queue, now], this.d.workerPool);
    return { limited: rows[0]?.yes === true, ordered: rows[0]?.ordered === true };
  }

  /** Remembers a queue found holding ordering keys (its claims take the ordering check from now on); `newlyOrdered` when this node did not know it. */
  private noteWhy(queue: string, why: WhyNothing): { limited: boolean; newlyOrdered: boolean } {
    const newlyOrdered = why.ordered && !this.orderedQueues.has(queue);
    if (newlyOrdered) this.orderedQueues.add(queue);
    return { limited: why.limited, newlyOrdered };
  }

  /** Null once the queue has no limits any more (it is forgotten, and the plain claim takes over). */
  private async claimLimited(p: JobClaimParams): Promise<ClaimedJobs | null> {
    const out = await this.d.transaction((c) => claimLimited(this.d.named(c), this.d.fsql, p, this.usage), undefined, this.d.workerPool);
    if (out === null) this.limitedQueues.delete(p.queue);
    return out;
  }

  /**
   * The plain claim; sent with its follow-up (unless `fullLast`), in one round trip with what its
   * caller asks when it came back short (sql.ts, AFTER_CLAIM): `nextRunAt` on the jobs, and `why`
   * when there are none. Without it, or retried and finding what a lost attempt took, it says neither.
   */
  private async claimPlain(p: JobClaimParams): Promise<{ jobs: ClaimedJobs; why: WhyNothing | null }> {
    const one = p.types?.length === 1;
    const kind: ClaimKind = `${p.types === null ? 'any' : one ? 'oneType' : 'types'}${this.orderedQueues.has(p.queue) ? 'Ordered' : ''}`;
    const text = claimFor((this.fullLast.has(p.queue) ? this.plain : this.withFollowUp)[kind], p.limit);
    const values: unknown[] = [p.queue, p.limit, p.now, p.leaseToken, p.now + p.leaseMs];
    if (p.types !== null) values.push(one ? p.types[0] : p.types);
    let attempt = 0;
    try {
      const rows = await withTransientRetry(
        async (): Promise<ClaimRow[]> => {
          if (attempt++ > 0) {
            const { rows: mine } = await this.d.workerPool.query<JobRow>(this.d.sql.claimedBy, [p.leaseToken]);
            if (mine.length > 0) return mine;
          }
          return (await this.d.send<ClaimRow>(this.d.workerPool, text, values)).rows;
        },
        DEFAULT_RETRY,
        (err, n) => this.d.onWarning(`transient Postgres error during a claim, retry ${n}`, err),
      );
      const after = rows[0];
      const leased = rows.filter((r): r is JobRow => r.id !== null);
      leased.sort(claimOrder);
      const jobs: ClaimedJobs = leased.map(rowToLeasedJob);
      const short = jobs.length < p.limit;
      if (short) this.fullLast.delete(p.queue);
      else this.fullLast.add(p.queue);
      if (short && after?.next_run_at !== undefined) jobs.nextRunAt = after.next_run_at;
      const why = after?.why_limited != null ? { limited: after.why_limited, ordered: after.why_ordered === true } : null;
      return { jobs, why };
    } catch (err) {
      throw mapPgError(err);
    }
  }

  private async byIds(p: JobClaimByIdsParams, ordered: boolean): Promise<LeasedJob[]> {
    let retried = false;
    const values = [p.ids, p.types, p.now, p.leaseToken, p.now + p.leaseMs, p.queue];
    const text = ordered ? this.d.osql.claimByIdsOrdered : this.d.osql.claimByIds;
    const { rows } = await this.d.query<JobRow>(text, values, this.d.workerPool, () => (retried = true));
    const mine = retried ? (await this.d.query<JobRow>(this.d.sql.claimedBy, [p.leaseToken], this.d.workerPool)).rows : rows;
    return mine.sort((a, b) => a.seq - b.seq).map(rowToLeasedJob);
  }
}
