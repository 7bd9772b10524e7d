/** Where every acknowledged job ended up: the crash matrix's lost / stuck count. */
import type { Jobq } from '../../src/core/jobq.js';
import { waitFor } from '../helpers/wait-for.js';

export interface Accounting {
  acknowledged: number;
  completed: number;
  /** Acknowledged, yet not in the store. */
  lost: string[];
  /** In the store, not completed by the deadline. */
  stuck: string[];
  /** The stuck jobs by status: what a failure report needs first. */
  stuckBy: Record<string, number>;
}

async function statuses(jobq: Jobq, ids: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const jobs = await Promise.all(chunk.map((id) => jobq.get(id)));
    chunk.forEach((id, k) => out.set(id, jobs[k]?.status ?? null));
  }
  return out;
}

/** Waits until every acknowledged job completed (or the deadline passed), then counts. */
export async function account(jobq: Jobq, ids: readonly string[], timeoutMs: number): Promise<Accounting> {
  let last = new Map<string, string | null>();
  let remaining = [...ids];
  try {
    await waitFor(
      async () => {
        const now = await statuses(jobq, remaining);
        for (const [id, s] of now) last.set(id, s);
        remaining = remaining.filter((id) => last.get(id) !== 'completed');
        return remaining.length === 0;
      },
      { what: 'every acknowledged job to complete', timeoutMs, intervalMs: 250 },
    );
  } catch {
    // Counted below.
  }
  if (last.size < ids.length) last = await statuses(jobq, ids);
  const lost = ids.filter((id) => last.get(id) === null);
  const stuck = ids.filter((id) => last.get(id) !== null && last.get(id) !== 'completed');
  const stuckBy: Record<string, number> = {};
  for (const id of stuck) stuckBy[last.get(id)!] = (stuckBy[last.get(id)!] ?? 0) + 1;
  return { acknowledged: ids.length, completed: ids.length - lost.length - stuck.length, lost, stuck, stuckBy };
}
