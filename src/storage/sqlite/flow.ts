/**
 * Claims on a flow-controlled queue, on SQLite, inside the claim's write
 * transaction (one writer at a time: the counts it reads cannot change
 * under it). Reads what runs and what started lately, asks storage/flow-plan.ts
 * which jobs may start, leases them, and records their starts.
 */
import type { ClaimedJobs, JobClaimParams, QueueSettings } from '../../contracts/store.js';
import { keysToFetch, planClaim, type FlowCandidate, type Window } from '../flow-plan.js';
import { rowToLeasedJob, type JobRow } from '../job-row.js';
import type { SqliteConn } from './conn.js';
import * as SQL from './job-sql.js';

const S = {
  running: `SELECT concurrency_key AS key, COUNT(*) AS n FROM jobs INDEXED BY jobs_leases WHERE status = 'processing' AND queue = @queue GROUP BY concurrency_key`,
  holds: `SELECT key, until FROM holds WHERE queue = @queue AND until > @now`,
  window: `SELECT COUNT(*) AS count, MIN(at) AS oldest FROM rate_starts WHERE queue = @queue AND key = @key AND at > @since`,
  nextKey: `SELECT concurrency_key AS key FROM jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = @queue AND concurrency_key > @after ORDER BY concurrency_key LIMIT 1`,
  keyless: `SELECT 1 AS x FROM jobs WHERE status = 'pending' AND queue = @queue AND concurrency_key IS NULL LIMIT 1`,
  ofKey: `SELECT seq, concurrency_key, rate_key FROM jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = @queue AND concurrency_key = @key
           AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types))) ORDER BY priority DESC, run_at, seq LIMIT @n`,
  ofNoKey: `SELECT seq, concurrency_key, rate_key FROM jobs WHERE status = 'pending' AND queue = @queue AND concurrency_key IS NULL
           AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types))) ORDER BY priority DESC, run_at, seq LIMIT @n`,
  start: `INSERT INTO rate_starts (queue, key, at) VALUES (@queue, @key, @at)`,
  forget: `DELETE FROM rate_starts WHERE queue = @queue AND at <= @before`,
  cursor: `UPDATE queues SET rr_cursor = @cursor WHERE name = @queue`,
  hold: `INSERT INTO holds (queue, key, until) VALUES (@queue, @key, @until) ON CONFLICT (queue, key) DO UPDATE SET until = MAX(until, excluded.until)`,
} as const;

interface Row {
  seq: number;
  concurrency_key: string | null;
  rate_key: string | null;
}

const candidate = (r: Row): FlowCandidate => ({ seq: r.seq, concurrencyKey: r.concurrency_key, rateKey: r.rate_key });

/** Keys with ready jobs after the cursor, wrapping around, at most `n` (the keyless group in its turn). */
function readyKeys(c: SqliteConn, queue: string, cursor: string | null, n: number): (string | null)[] {
  const keys: (string | null)[] = [];
  const seen = new Set<string>();
  const collect = (after: string, stopAt: string | null) => {
    for (let last = after; keys.length < n; ) {
      const row = c.stmt(S.nextKey).get({ queue, after: last }) as { key: string } | undefined;
      if (!row || (stopAt !== null && row.key > stopAt) || seen.has(row.key)) return;
      keys.push(row.key);
      seen.add(row.key);
      last = row.key;
    }
  };
  collect(cursor ?? '', null);
  // Round robin: from the start again, the keyless group first, up to the cursor.
  if (cursor !== null && keys.length < n) {
    if (c.stmt(S.keyless).get({ queue })) keys.push(null);
    collect('', cursor);
  } else if (cursor === null && keys.length < n && c.stmt(S.keyless).get({ queue })) keys.unshift(null);
  return keys;
}

export function claimLimited(c: SqliteConn, p: JobClaimParams, settings: QueueSettings, cursor: string | null): ClaimedJobs {
  const { queue, now } = p;
  const runningByKey = new Map<string | null, number>();
  let runningTotal = 0;
  for (const r of c.stmt(S.running).all({ queue }) as { key: string | null; n: number }[]) {
    runningByKey.set(r.key, r.n);
    runningTotal += r.n;
  }
  const holds = new Map((c.stmt(S.holds).all({ queue, now }) as { key: string; until: number }[]).map((h) => [h.key, h.until]));
  const window = (key: string, intervalMs: number): Window => c.stmt(S.window).get({ queue, key, since: now - intervalMs }) as Window;
  const types = p.types === null ? null : JSON.stringify(p.types);
  const keys = readyKeys(c, queue, cursor, keysToFetch(p.limit, runningByKey.size));
  const groups = keys.map((key) => {
    const room = key !== null && settings.perKeyConcurrency !== null ? Math.max(0, settings.perKeyConcurrency - (runningByKey.get(key) ?? 0)) : p.limit;
    // One more than may start: a key with jobs beyond its room makes the claim `limited`.
    const n = Math.min(room, p.limit) + 1;
    const rows = ((key === null ? c.stmt(S.ofNoKey).all({ queue, types, n }) : c.stmt(S.ofKey).all({ queue, key, types, n })) as Row[]);
    return { key, jobs: rows.map(candidate) };
  });
  const keyWindows = new Map<string, Window>();
  if (settings.perKeyRateLimit) {
    for (const g of groups) for (const j of g.jobs) if (j.rateKey !== null && !keyWindows.has(j.rateKey)) keyWindows.set(j.rateKey, window(j.rateKey, settings.perKeyRateLimit.intervalMs));
  }
  const plan = planClaim({
    settings,
    now,
    limit: p.limit,
    runningTotal,
    runningByKey,
    queueWindow: settings.rateLimit ? window('', settings.rateLimit.intervalMs) : { count: 0, oldest: null },
    keyWindows,
    holds,
    groups,
  });
  const claimed: ClaimedJobs =
    plan.picks.length === 0
      ? []
      : (c.stmt(SQL.CLAIM_SEQS).all({ seqs: JSON.stringify(plan.picks.map((x) => x.seq)), now, leaseToken: p.leaseToken, leaseExpiresAt: now + p.leaseMs }) as JobRow[])
          .sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq)
          .map(rowToLeasedJob);
  const longest = Math.max(settings.rateLimit?.intervalMs ?? 0, settings.perKeyRateLimit?.intervalMs ?? 0);
  if (longest > 0) {
    for (const j of plan.picks) {
      if (settings.rateLimit) c.stmt(S.start).run({ queue, key: '', at: now });
      if (settings.perKeyRateLimit && j.rateKey !== null) c.stmt(S.start).run({ queue, key: j.rateKey, at: now });
    }
    c.stmt(S.forget).run({ queue, before: now - longest });
  }
  // '' is the keyless group's place in the round ("after it" is: every key); NULL, no cursor yet.
  if (plan.lastKey !== undefined) c.stmt(S.cursor).run({ queue, cursor: plan.lastKey ?? '' });
  if (plan.limited) claimed.limited = true;
  if (plan.wakeAt !== undefined) claimed.wakeAt = plan.wakeAt;
  return claimed;
}

/** A throttled job's key (or, with key null, its whole queue) starts nothing until `until`. */
export function hold(c: SqliteConn, queue: string, key: string | null, until: number): void {
  c.stmt(S.hold).run({ queue, key: key ?? '', until });
}
