/**
 * Claims on a flow-controlled queue, on SQLite, inside the claim's write
 * transaction (one writer at a time: the counts it reads cannot change
 * under it). Reads what runs and what started lately, asks storage/flow-plan.ts
 * which jobs may start, leases them, and records their starts.
 */
import { hasLimits, type ClaimedJobs, type JobClaimParams, type QueueSettings } from '../../contracts/store.js';
import { flowClaimed, KEYLESS, keysToFetch, MAX_LOOKAHEAD, planClaim, type FlowCandidate, type FlowPlan, type Window } from '../flow-plan.js';
import type { KeyUsage } from '../flow-usage.js';
import { claimOrder, rowToLeasedJob } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';
import { leaseSeqs } from './leased-rows.js';
import { pendingTypes } from './pending-types.js';
import { boundLimit } from './bound-limit.js';

/** A key's first ready jobs in claim order, of the types `typeFilter` lets through. */
function ofKey(typeFilter: string): string {
  return `SELECT seq, concurrency_key, rate_key FROM jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = @queue AND concurrency_key = @key
           AND ${typeFilter} ORDER BY priority DESC, run_at, seq LIMIT ${boundLimit('@n')}`;
}

const S = {
  running: `SELECT concurrency_key AS key, COUNT(*) AS n FROM jobs INDEXED BY jobs_leases WHERE status = 'processing' AND queue = @queue GROUP BY concurrency_key`,
  holds: `SELECT key, until FROM holds WHERE queue = @queue AND until > @now`,
  window: `SELECT COUNT(*) AS count, MIN(at) AS oldest FROM rate_starts WHERE queue = @queue AND key = @key AND at > @since`,
  // jobs_claim_key holds every group of a flow-controlled queue, the keyless one ('') first.
  firstKey: `SELECT concurrency_key AS key FROM jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = @queue ORDER BY concurrency_key LIMIT 1`,
  nextKey: `SELECT concurrency_key AS key FROM jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = @queue AND concurrency_key > @after ORDER BY concurrency_key LIMIT 1`,
  ofKey: ofKey(`(@types IS NULL OR type IN (SELECT value FROM json_each(@types)))`),
  // The same for a node with one handler type (the common case): no json_each per candidate row.
  ofKeyOneType: ofKey('type = @type'),
  ofType: `SELECT seq, concurrency_key, rate_key, priority, run_at FROM jobs WHERE status = 'pending' AND queue = @queue AND type = @type ORDER BY priority DESC, run_at, seq LIMIT ${boundLimit('@n')}`,
  start: `INSERT INTO rate_starts (queue, key, at) VALUES (@queue, @key, @at)`,
  forget: `DELETE FROM rate_starts WHERE queue = @queue AND at <= @before`,
  cursor: `UPDATE queues SET rr_cursor = @cursor WHERE name = @queue`,
  hold: `INSERT INTO holds (queue, key, until) VALUES (@queue, @key, @until) ON CONFLICT (queue, key) DO UPDATE SET until = MAX(until, excluded.until)`,
  keyless: `UPDATE jobs SET concurrency_key = '' WHERE queue = @queue AND concurrency_key IS NULL AND status IN ('waiting', 'scheduled', 'pending', 'processing')`,
} as const;

interface Row {
  seq: number;
  concurrency_key: string | null;
  rate_key: string | null;
}

const candidate = (r: Row): FlowCandidate => ({ seq: r.seq, concurrencyKey: r.concurrency_key || null, rateKey: r.rate_key });

/** Groups with ready jobs after the cursor, wrapping around, at most `n`, in key order ('' the keyless group). */
function readyKeys(c: SqliteConn, queue: string, cursor: string | null, n: number): string[] {
  const keys: string[] = [];
  const next = c.stmt(S.nextKey);
  const collect = (first: { key: string } | undefined, stopAt: string | null) => {
    for (let row = first; row && keys.length < n && (stopAt === null || row.key <= stopAt); row = next.get({ queue, after: row.key }) as typeof row) {
      if (keys.includes(row.key)) return;
      keys.push(row.key);
    }
  };
  const from = c.stmt(S.firstKey).get({ queue }) as { key: string } | undefined;
  if (cursor === null) collect(from, null);
  else {
    collect(next.get({ queue, after: cursor }) as { key: string } | undefined, null);
    // Round robin: from the start again, up to the cursor.
    collect(from, cursor);
  }
  return keys;
}

/** A queue held by a throttled job but without limits: its ready jobs in plain claim order, one group. */
function heldQueueGroup(c: SqliteConn, p: JobClaimParams, n: number): FlowCandidate[] {
  const types = p.types ?? pendingTypes(c, p.queue);
  const rows: (Row & { priority: number; run_at: number })[] = [];
  for (const type of types) rows.push(...(c.stmt(S.ofType).all({ queue: p.queue, type, n }) as typeof rows));
  rows.sort(claimOrder);
  return rows.slice(0, n).map(candidate);
}

export function claimLimited(c: SqliteConn, p: JobClaimParams, settings: QueueSettings, cursor: string | null, usage: KeyUsage): ClaimedJobs {
  const { queue, now } = p;
  const runningByKey = new Map<string | null, number>();
  let runningTotal = 0;
  for (const r of c.stmt(S.running).all({ queue }) as { key: string | null; n: number }[]) {
    const key = r.key || null;
    runningByKey.set(key, (runningByKey.get(key) ?? 0) + r.n);
    runningTotal += r.n;
  }
  const holds = new Map((c.stmt(S.holds).all({ queue, now }) as { key: string; until: number }[]).map((h) => [h.key, h.until]));
  const window = (key: string, intervalMs: number): Window => c.stmt(S.window).get({ queue, key, since: now - intervalMs }) as Window;
  const types = p.types === null ? null : JSON.stringify(p.types);
  // Each group's first jobs in claim order: `asked` of them (fewer when the group has fewer).
  let offer: { stored: string | null; asked: number }[];
  if (!hasLimits(settings)) {
    // Held, not limited: skip the held rate keys among the first jobs in claim order.
    offer = [{ stored: null, asked: p.limit * 4 + 1 }];
  } else {
    offer = readyKeys(c, queue, cursor, keysToFetch(p.limit, runningByKey.size)).map((stored) => {
      const room = stored !== KEYLESS && settings.perKeyConcurrency !== null ? Math.max(0, settings.perKeyConcurrency - (runningByKey.get(stored) ?? 0)) : p.limit;
      // One more than may start: a key with jobs beyond its room makes the claim `limited`.
      return { stored, asked: Math.min(room, p.limit) + 1 };
    });
  }
  const oneType = p.types?.length === 1 ? p.types[0]! : null;
  const keyJobs = (key: string, n: number) =>
    (oneType === null ? c.stmt(S.ofKey).all({ queue, key, types, n }) : c.stmt(S.ofKeyOneType).all({ queue, key, type: oneType, n })) as Row[];
  const fetch = ({ stored, asked }: { stored: string | null; asked: number }): FlowCandidate[] => (stored === null ? heldQueueGroup(c, p, asked) : keyJobs(stored, asked).map(candidate));
  const groups = offer.map((o) => ({ key: o.stored || null, jobs: fetch(o) }));
  const keyWindows = new Map<string, Window>();
  const queueWindow = settings.rateLimit ? window('', settings.rateLimit.intervalMs) : { count: 0, oldest: null };
  const used = usage.observe(queue, runningByKey, now);
  let plan: FlowPlan;
  for (let round = 0; ; round++) {
    if (settings.perKeyRateLimit) {
      for (const g of groups) for (const j of g.jobs) if (j.rateKey !== null && !keyWindows.has(j.rateKey)) keyWindows.set(j.rateKey, window(j.rateKey, settings.perKeyRateLimit.intervalMs));
    }
    plan = planClaim({ settings, now, limit: p.limit, runningTotal, runningByKey, queueWindow, keyWindows, holds, groups, usage: used });
    // A group whose jobs on offer all wait on their rate keys may hold a startable job deeper: look again, deeper.
    const deeper = plan.rateStarved.filter((g) => groups[g]!.jobs.length === offer[g]!.asked && offer[g]!.asked < MAX_LOOKAHEAD);
    if (deeper.length === 0 || round === 2) break;
    for (const g of deeper) {
      offer[g]!.asked = Math.min(offer[g]!.asked * 8, MAX_LOOKAHEAD);
      groups[g]!.jobs = fetch(offer[g]!);
    }
  }
  const claimed: ClaimedJobs =
    plan.picks.length === 0
      ? []
      : leaseSeqs(c, plan.picks.map((x) => x.seq), { now, leaseToken: p.leaseToken, leaseExpiresAt: now + p.leaseMs })
          .sort(claimOrder)
          .map(rowToLeasedJob);
  usage.started(queue, plan.picks);
  const longest = Math.max(settings.rateLimit?.intervalMs ?? 0, settings.perKeyRateLimit?.intervalMs ?? 0);
  if (longest > 0) {
    for (const j of plan.picks) {
      if (settings.rateLimit) c.stmt(S.start).run({ queue, key: '', at: now });
      if (settings.perKeyRateLimit && j.rateKey !== null) c.stmt(S.start).run({ queue, key: j.rateKey, at: now });
    }
    c.stmt(S.forget).run({ queue, before: now - longest });
  }
  // '' is the keyless group's place in the round ("after it" is: every key); NULL, no cursor yet.
  if (plan.lastKey !== undefined && hasLimits(settings)) c.stmt(S.cursor).run({ queue, cursor: plan.lastKey ?? KEYLESS });
  return flowClaimed(claimed, plan);
}

/**
 * Inside an insert's transaction: the concurrency key to store for a job.
 * A keyless job of a flow-controlled queue joins the keyless group '' so the
 * claim index holds it (one query per batch; settings change in a write
 * transaction too, so the two never cross).
 */
export function concurrencyKeys(c: SqliteConn): (queue: string, key: string | null) => string | null {
  const limited = c.stmt(SQL.LIMITED_QUEUES).pluck().all() as string[];
  if (limited.length === 0) return (_queue, key) => key;
  const set = new Set(limited);
  return (queue, key) => key ?? (set.has(queue) ? KEYLESS : null);
}

/** A queue coming under flow control: its keyless jobs join the keyless group. */
export function joinKeylessGroup(c: SqliteConn, queue: string): void {
  c.stmt(S.keyless).run({ queue });
}

/** A throttled job's key (or, with key null, its whole queue) starts nothing until `until`. */
export function hold(c: SqliteConn, queue: string, key: string | null, until: number): void {
  c.stmt(S.hold).run({ queue, key: key ?? '', until });
}
