/**
 * Finishes go through one group committer: outcomes settled in the same tick
 * share one store statement. One row the database refuses (a result it
 * cannot store) must never take its batch down: a batch that fails for any
 * reason but the database being unavailable is written again row by row, and
 * a row that still fails is recorded as failed, saying why. Without this, a
 * single NUL in one error message failed 200 finished jobs on Postgres.
 */
import { isJobqError } from '../../contracts/errors.js';
import type { JobFinish, JobOutcome, JobRef, Store } from '../../contracts/store.js';
import type { Clock } from '../clock.js';
import { GroupCommitter, type Settled } from '../group-commit.js';
import { unstorableOutcome } from '../lifecycle.js';

export interface FinishRequest extends JobFinish {
  /** The attempt being finished (for the fallback error). */
  attempt: number;
}

/** A finish that was written: the job, and the outcome recorded (the fallback one if the first was refused). */
export interface Finished {
  ref: JobRef;
  outcome: JobOutcome;
}

export class Finisher {
  private readonly committer: GroupCommitter<FinishRequest, Finished | null>;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    maxBatch: number,
    private readonly onUnstorable: (req: FinishRequest, err: unknown) => void,
  ) {
    this.committer = new GroupCommitter((reqs) => this.commit(reqs), maxBatch);
  }

  /** Resolves with what was written, or null when the lease had been lost. */
  finish(req: FinishRequest): Promise<Finished | null> {
    return this.committer.add([req]).then(firstOrNull);
  }

  /** As finish(), told through `settled` instead of a promise (see GroupCommitter.addOne). */
  finishThen<Q extends FinishRequest>(req: Q, settled: Settled<Q, Finished | null>): void {
    this.committer.addOne(req, settled as Settled<FinishRequest, Finished | null>);
  }

  drain(): Promise<void> {
    return this.committer.drain();
  }

  private async commit(reqs: FinishRequest[]): Promise<(Finished | null)[]> {
    // The store answers with job ids: two finishes of one job in a batch (a stale lease and the
    // current one) could not be told apart, so a job's later finishes go one by one after it.
    const seen = new Set<string>();
    const later: number[] = [];
    reqs.forEach((r, i) => (seen.has(r.id) ? later.push(i) : seen.add(r.id)));
    if (later.length === 0) return this.commitBatch(reqs);
    const skip = new Set(later);
    const firsts = reqs.flatMap((r, i) => (skip.has(i) ? [] : [i]));
    const out: (Finished | null)[] = new Array(reqs.length).fill(null);
    (await this.commitBatch(firsts.map((i) => reqs[i]!))).forEach((f, k) => (out[firsts[k]!] = f));
    for (const i of later) out[i] = (await this.commitBatch([reqs[i]!]))[0]!;
    return out;
  }

  private async commitBatch(reqs: FinishRequest[]): Promise<(Finished | null)[]> {
    const now = this.clock.now();
    try {
      return byId(reqs, await this.store.jobFinishMany({ finishes: reqs, now }));
    } catch (err) {
      if (isJobqError(err, 'store_unavailable')) throw err;
    }
    const out: (Finished | null)[] = [];
    for (const req of reqs) out.push(await this.commitOne(req, now));
    return out;
  }

  private async commitOne(req: FinishRequest, now: number): Promise<Finished | null> {
    try {
      const [ref] = await this.store.jobFinishMany({ finishes: [req], now });
      return ref ? { ref, outcome: req.outcome } : null;
    } catch (err) {
      if (isJobqError(err, 'store_unavailable')) throw err;
      this.onUnstorable(req, err);
      const outcome = unstorableOutcome(req.outcome, err, req.attempt, now);
      const [ref] = await this.store.jobFinishMany({ finishes: [{ ...req, outcome }], now });
      return ref ? { ref, outcome } : null;
    }
  }
}

/** One module-level function, not a closure per finish: every complete() and fail() goes through it (a remote worker's every job). */
const firstOrNull = (written: (Finished | null)[]): Finished | null => written[0] ?? null;

function byId(reqs: readonly FinishRequest[], refs: readonly JobRef[]): (Finished | null)[] {
  const map = new Map(refs.map((r) => [r.id, r]));
  return reqs.map((r) => {
    const ref = map.get(r.id);
    return ref ? { ref, outcome: r.outcome } : null;
  });
}
