/**
 * Claims on a flow-controlled queue, on Postgres. The queue's row is locked
 * (FOR UPDATE) for the claim's transaction, so limited claims of one queue
 * run one at a time across every node: the counts read under the lock are
 * exact, and no two nodes can both take the last slot. Within it: what runs,
 * what started lately, the holds, and the ready jobs of each key in turn
 * (round robin from the stored cursor), decided by storage/flow-plan.ts.
 * In a queue that holds ordering keys only the head of each key is offered.
 */
import type { ClaimedJobs, JobClaimParams, QueueSettings } from '../../contracts/store.js';
import { hasLimits, NO_LIMITS } from '../../contracts/store.js';
import { flowClaimed, KEYLESS, keysToFetch, MAX_LOOKAHEAD, planClaim, type FlowCandidate, type FlowPlan, type Window } from '../flow-plan.js';
import type { KeyUsage } from '../flow-usage.js';
import { claimOrder, rowToLeasedJob, type JobRow } from '../job-row.js';
import { ifOrdered, whyNotClaimable } from './ordering.js';
import { pendingTypesSql } from './pending-types.js';
import type { Queryable } from './prepared.js';

export function flowStatements(s: string) {
  const why = whyNotClaimable(s, '$1', '$2');
  return {
    // Params: queue. Everything after it reads under this lock, in statements that start once it is
    // held (a statement's snapshot is taken when it starts: reading holds or counts in this one would
    // miss what the previous holder of the lock committed while this claim waited for it).
    lock: `SELECT paused, settings::text AS settings, rr_cursor, ordered FROM ${s}.queues WHERE name = $1 FOR UPDATE`,
    // For this transaction only: Postgres may keep a prepared statement's generic plan (the store's
    // connections otherwise plan every call: a generic plain claim scans the table). The claim's
    // statements run under the queue's lock, one claim at a time, so their planning is the queue's
    // throughput (bench:flow's per-key row: 48-53 % -> 53-55 % of an unlimited drain, interleaved).
    // Their limits are index probes per key, which no plan turns into a scan; the one statement with
    // a plain claim's shape (ofTypes, for a queue held without limits) is planned per call again.
    genericPlans: `SET LOCAL plan_cache_mode = auto`,
    customPlans: `SET LOCAL plan_cache_mode = force_custom_plan`,
    // Params: queue, now. Promotes the queue's due scheduled jobs and counts what runs per key, in one
    // round trip (a limited claim is about ten statements, each a round trip and a plan); the count
    // does not see the promotion, which does not change it.
    promoteAndCount: `
      WITH promoted AS (UPDATE ${s}.jobs SET status = 'pending', updated_at = $2 WHERE status = 'scheduled' AND queue = $1 AND run_at <= $2)
      SELECT concurrency_key AS key, count(*)::int AS n FROM ${s}.jobs WHERE status = 'processing' AND queue = $1 GROUP BY concurrency_key`,
    holds: `SELECT key, until FROM ${s}.holds WHERE queue = $1 AND until > $2`,
    windows: `SELECT key, count(*)::int AS count, min(at) AS oldest FROM ${s}.rate_starts WHERE queue = $1 AND key = ANY($2::text[]) AND at > $3 GROUP BY key`,
    // Params: queue, after, n. Groups with ready jobs after `after` (or from `after` on: keysFrom), by
    // skipping through jobs_claim_key, which holds every group of a flow-controlled queue ('' the keyless one).
    keysAfter: keys(s, '>'),
    keysFrom: keys(s, '>='),
    // Params: queue, keys, counts, types. The first jobs of each group in claim order (in a queue
    // marked ordered, only jobs at the head of their ordering key: ordering.ts).
    ofKeys: ofKeys(s, false),
    ofKeysOrdered: ofKeys(s, true),
    // Params: queue, n, types. A held queue without limits: the first jobs in plain claim order, type by type.
    ofTypes: ofTypes(s, TYPES, false),
    ofTypesOrdered: ofTypes(s, TYPES, true),
    ofAnyType: ofTypes(s, pendingTypesSql(s), false),
    ofAnyTypeOrdered: ofTypes(s, pendingTypesSql(s), true),
    lease: lease(s),
    // Params: as lease, then queue and cursor: the lease and the round robin's new cursor in one round trip.
    leaseAndCursor: `WITH cur AS (UPDATE ${s}.queues SET rr_cursor = $6 WHERE name = $5) ${lease(s)}`,
    start: `INSERT INTO ${s}.rate_starts (queue, key, at) SELECT $1, unnest($2::text[]), $3`,
    forget: `DELETE FROM ${s}.rate_starts WHERE queue = $1 AND at <= $2`,
    cursor: `UPDATE ${s}.queues SET rr_cursor = $2 WHERE name = $1`,
    hold: `INSERT INTO ${s}.holds (queue, key, until) VALUES ($1, $2, $3) ON CONFLICT (queue, key) DO UPDATE SET until = GREATEST(${s}.holds.until, excluded.until)`,
    // Params: queue, now. Whether claims of the queue go through flow control.
    // Why a plain claim gave nothing: flow control or a hold (flow.ts claims), or ordering keys (the ordered statement).
    limited: `SELECT ${why.limited} AS yes, ${why.ordered} AS ordered`,
  };
}

function keys(s: string, op: '>' | '>='): string {
  return `
      WITH RECURSIVE k(key) AS (
        (SELECT concurrency_key FROM ${s}.jobs WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = $1 AND concurrency_key ${op} $2
          ORDER BY concurrency_key LIMIT 1)
        UNION ALL
        SELECT (SELECT j.concurrency_key FROM ${s}.jobs j WHERE j.status = 'pending' AND j.concurrency_key IS NOT NULL AND j.queue = $1 AND j.concurrency_key > k.key
                 ORDER BY j.concurrency_key LIMIT 1)
          FROM k WHERE k.key IS NOT NULL)
      SELECT key FROM k WHERE key IS NOT NULL LIMIT $3`;
}

const TYPES = `SELECT unnest($3::text[]) AS type`;

// Params: seqs, now, leaseToken, leaseExpiresAt
const lease = (s: string) => `
      UPDATE ${s}.jobs SET status = 'processing', attempts = attempts + 1, started_at = $2, updated_at = $2, lease_token = $3, lease_expires_at = $4
       WHERE seq = ANY($1::bigint[]) AND status = 'pending' RETURNING *`;

function ofKeys(s: string, ordered: boolean): string {
  return `
      SELECT c.seq, c.concurrency_key, c.rate_key FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS k(key, n, o)
        CROSS JOIN LATERAL (
          SELECT seq, concurrency_key, rate_key, priority, run_at FROM ${s}.jobs x
           WHERE status = 'pending' AND concurrency_key IS NOT NULL AND queue = $1 AND concurrency_key = k.key AND ($4::text[] IS NULL OR type = ANY($4))${ifOrdered(ordered, s, 'x')}
           ORDER BY priority DESC, run_at, seq LIMIT k.n) c
       ORDER BY k.o, c.priority DESC, c.run_at, c.seq`;
}

function ofTypes(s: string, types: string, ordered: boolean): string {
  return `
      WITH types AS (${types})
      SELECT c.seq, c.concurrency_key, c.rate_key FROM types t CROSS JOIN LATERAL (
        SELECT seq, concurrency_key, rate_key, priority, run_at FROM ${s}.jobs x
         WHERE status = 'pending' AND queue = $1 AND type = t.type${ifOrdered(ordered, s, 'x')}
         ORDER BY priority DESC, run_at, seq LIMIT $2) c
       ORDER BY c.priority DESC, c.run_at, c.seq LIMIT $2`;
}

export type FlowStatements = ReturnType<typeof flowStatements>;

interface Row {
  seq: number;
  concurrency_key: string | null;
  rate_key: string | null;
}

const candidate = (r: Row): FlowCandidate => ({ seq: r.seq, concurrencyKey: r.concurrency_key || null, rateKey: r.rate_key });

/** Runs inside the claim's transaction. Null when the queue has no limits after all (the plain claim takes over). */
export async function claimLimited(c: Queryable, sql: FlowStatements, p: JobClaimParams, usage: KeyUsage): Promise<ClaimedJobs | null> {
  const { queue, now } = p;
  // Sent together on the worker pool's pipelined connection: one write, run in order, answered in
  // order, with no turn of this process's event loop in between (the queue's lock is held across
  // those turns, and in a busy worker each took longer than the statement). The lock is taken first,
  // so the counts after it see every claim committed before it. A paused queue, or one whose limits
  // were just removed, has its due jobs promoted for nothing more: the rescuer would promote them anyway.
  const [, lock, held, counted] = await Promise.all([
    c.named ? c.query(sql.genericPlans, []) : null,
    c.query<{ paused: boolean; settings: string | null; rr_cursor: string | null; ordered: boolean }>(sql.lock, [queue]),
    c.query<{ key: string; until: number }>(sql.holds, [queue, now]),
    c.query<{ key: string | null; n: number }>(sql.promoteAndCount, [queue, now]),
  ]);
  const state = lock.rows[0];
  const ordered = state?.ordered === true;
  if (state?.paused) return [];
  const stored = state?.settings ? (JSON.parse(state.settings) as QueueSettings) : null;
  const holds = new Map(held.rows.map((h) => [h.key, h.until]));
  // A queue held by a throttled job takes this path too, limits or not.
  if (!hasLimits(stored) && holds.size === 0) return null;
  const settings = hasLimits(stored) ? stored : NO_LIMITS;
  const runningByKey = new Map<string | null, number>();
  let runningTotal = 0;
  for (const r of counted.rows) {
    const key = r.key || null; // '' is the keyless group
    runningByKey.set(key, (runningByKey.get(key) ?? 0) + r.n);
    runningTotal += r.n;
  }
  const types = p.types === null ? null : [...p.types];
  // Each group's first jobs in claim order: `asked` of them (fewer when the group has fewer).
  let offer: { stored: string | null; asked: number }[];
  if (!hasLimits(stored)) {
    // Held, not limited: skip the held rate keys among the first jobs in claim order.
    offer = [{ stored: null, asked: p.limit * 4 + 1 }];
    if (c.named) await c.query(sql.customPlans, []);
  } else {
    const n = keysToFetch(p.limit, runningByKey.size);
    const cursor = state?.rr_cursor ?? null;
    const keys = (await c.query<{ key: string }>(cursor === null ? sql.keysFrom : sql.keysAfter, [queue, cursor ?? KEYLESS, n])).rows.map((r) => r.key);
    if (cursor !== null && keys.length < n) {
      // Round robin: from the start again, up to the cursor.
      for (const r of (await c.query<{ key: string }>(sql.keysFrom, [queue, KEYLESS, n - keys.length])).rows) if (r.key <= cursor && !keys.includes(r.key)) keys.push(r.key);
    }
    const room = (k: string) => (k !== KEYLESS && settings.perKeyConcurrency !== null ? Math.max(0, settings.perKeyConcurrency - (runningByKey.get(k) ?? 0)) : p.limit);
    // One more than may start: a key with jobs beyond its room makes the claim `limited`.
    offer = keys.map((k) => ({ stored: k, asked: Math.min(room(k), p.limit) + 1 }));
  }
  const fetch = async (which: number[]): Promise<void> => {
    const keyed = which.filter((g) => offer[g]!.stored !== null);
    if (keyed.length > 0) {
      const byKey = new Map<string, FlowCandidate[]>(keyed.map((g) => [offer[g]!.stored!, []]));
      const rows = (await c.query<Row>(ordered ? sql.ofKeysOrdered : sql.ofKeys, [queue, keyed.map((g) => offer[g]!.stored), keyed.map((g) => offer[g]!.asked), types])).rows;
      for (const r of rows) byKey.get(r.concurrency_key!)!.push(candidate(r));
      for (const g of keyed) groups[g]!.jobs = byKey.get(offer[g]!.stored!)!;
    }
    for (const g of which.filter((x) => offer[x]!.stored === null)) {
      const n = offer[g]!.asked;
      const rows = types === null ? await c.query<Row>(ordered ? sql.ofAnyTypeOrdered : sql.ofAnyType, [queue, n]) : await c.query<Row>(ordered ? sql.ofTypesOrdered : sql.ofTypes, [queue, n, types]);
      groups[g]!.jobs = rows.rows.map(candidate);
    }
  };
  const groups: { key: string | null; jobs: FlowCandidate[] }[] = offer.map((o) => ({ key: o.stored || null, jobs: [] }));
  await fetch(offer.map((_, g) => g));
  const windowOf = async (ks: string[], intervalMs: number) =>
    new Map((await c.query<{ key: string; count: number; oldest: number | null }>(sql.windows, [queue, ks, now - intervalMs])).rows.map((w) => [w.key, { count: w.count, oldest: w.oldest } as Window]));
  const keyWindows = new Map<string, Window>();
  const queueWindow = settings.rateLimit ? ((await windowOf([''], settings.rateLimit.intervalMs)).get('') ?? { count: 0, oldest: null }) : { count: 0, oldest: null };
  const used = usage.observe(queue, runningByKey, now);
  let plan: FlowPlan;
  for (let round = 0; ; round++) {
    const unseen = [...new Set(groups.flatMap((g) => g.jobs).flatMap((j) => (j.rateKey === null || keyWindows.has(j.rateKey) ? [] : [j.rateKey])))];
    if (settings.perKeyRateLimit && unseen.length > 0) for (const [k, w] of await windowOf(unseen, settings.perKeyRateLimit.intervalMs)) keyWindows.set(k, w);
    plan = planClaim({ settings, now, limit: p.limit, runningTotal, runningByKey, queueWindow, keyWindows, holds, groups, usage: used });
    // A group whose jobs on offer all wait on their rate keys may hold a startable job deeper: look again, deeper.
    const deeper = plan.rateStarved.filter((g) => groups[g]!.jobs.length === offer[g]!.asked && offer[g]!.asked < MAX_LOOKAHEAD);
    if (deeper.length === 0 || round === 2) break;
    for (const g of deeper) offer[g]!.asked = Math.min(offer[g]!.asked * 8, MAX_LOOKAHEAD);
    await fetch(deeper);
  }
  usage.started(queue, plan.picks);
  let claimed: ClaimedJobs = [];
  // The round robin's new place: '' is the keyless group's ("after it" is: every key); null, none to write.
  const cursor = plan.lastKey !== undefined && hasLimits(stored) ? (plan.lastKey ?? KEYLESS) : null;
  if (plan.picks.length > 0) {
    const lease = [plan.picks.map((x) => x.seq), now, p.leaseToken, now + p.leaseMs];
    const rows = (cursor === null ? await c.query<JobRow>(sql.lease, lease) : await c.query<JobRow>(sql.leaseAndCursor, [...lease, queue, cursor])).rows;
    claimed = rows.sort(claimOrder).map(rowToLeasedJob);
    const starts = [...(settings.rateLimit ? plan.picks.map(() => '') : []), ...(settings.perKeyRateLimit ? plan.picks.flatMap((j) => (j.rateKey === null ? [] : [j.rateKey])) : [])];
    if (starts.length > 0) await c.query(sql.start, [queue, starts, now]);
  } else if (cursor !== null) await c.query(sql.cursor, [queue, cursor]);
  const longest = Math.max(settings.rateLimit?.intervalMs ?? 0, settings.perKeyRateLimit?.intervalMs ?? 0);
  if (longest > 0) await c.query(sql.forget, [queue, now - longest]);
  return flowClaimed(claimed, plan);
}
