/**
 * How many jobs a worker claims beyond its free slots, per queue
 * (`prefetch`): a remote worker (client/remote-worker.ts) and a node's own
 * dispatch loops alike. With one claim in flight the worker and the store
 * take turns: while the next claim travels, slots whose jobs already
 * finished stand idle, and while the worker runs a batch the store waits for
 * its next claim. Jobs claimed ahead start the moment a slot frees, and the
 * claim that refills them travels meanwhile.
 *
 * 'auto' claims ahead what the slots will finish during one claim round
 * trip (Little's law: concurrency × round trip ÷ run time), at most
 * `autoMax` (a remote worker: one more batch, its concurrency; a node's own
 * loops: IN_PROCESS_AUTO_MAX, whatever their concurrency), and nothing while
 * that is under one job: short jobs get the overlap, long ones are never
 * held back from other workers.
 * Both times are moving averages, so the figure follows the work.
 */

/** Weight of the newest sample in each moving average. */
const RUN_WEIGHT = 0.1;
const TRIP_WEIGHT = 0.3;

/** The most a queue's `prefetch` may be set to. */
export const MAX_PREFETCH = 1000;

/** A `prefetch` setting: 'auto', or a whole number of jobs from 0 to MAX_PREFETCH. */
export function isPrefetch(v: unknown): v is number | 'auto' {
  return v === 'auto' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_PREFETCH);
}

/**
 * The most 'auto' holds in a node's own dispatch loops, whatever their
 * concurrency (capped at the concurrency too, a loop at concurrency 1 held
 * one and claimed once per 2 jobs: 1,571-1,960 against 6,084-7,771 jobs/s
 * on Postgres, 2026-11-29). Past a dozen or so jobs a claim's batch is large
 * enough that holding more buys little overlap, and the jobs held live
 * across scavenges: a concurrency-200 SQLite worker in the peer harness
 * peaked at 106 MB RSS holding up to 64 (92-93 MB holding none) at about
 * the same rate. Holding up to 16: 78 MB, and against none 1.47x the rate
 * at concurrency 1 and 1.07x at 50 on SQLite, 1.69x and 1.25x on Postgres,
 * the same at 200 (2026-11-29, medians of 3). A remote worker's claims
 * travel over HTTP and carry its finishes (each round costs the server a
 * fixed part), so it keeps up to one more batch: 23,906 -> 29,340 jobs/s.
 */
export const IN_PROCESS_AUTO_MAX = 16;

/**
 * In 'auto', jobs held ahead go back to the queue when none of them got a
 * slot for this many of the usual run times, and at least HOLD_FLOOR_MS: a
 * slot taken far longer than its jobs usually take (a slow job among quick
 * ones) would otherwise keep them from the other workers. A set number is
 * held as set, heartbeated, however long.
 */
const HOLD_RUNS = 4;
const HOLD_FLOOR_MS = 50;

const blend = (avg: number | null, sample: number, weight: number) => (avg === null ? sample : avg + weight * (sample - avg));

export class ClaimAhead {
  private runMs: number | null = null;
  private tripMs: number | null = null;

  /** `fixed`: a set number of jobs ahead (0: none), or null for 'auto', which holds at most `autoMax`. */
  constructor(
    private readonly concurrency: number,
    private readonly fixed: number | null,
    private readonly autoMax = concurrency,
  ) {}

  /** A job held a slot this long (handler start to settle). */
  ran(ms: number): void {
    this.runMs = blend(this.runMs, ms, RUN_WEIGHT);
  }

  /** A claim that did not wait for work took this long, request to answer. */
  travelled(ms: number): void {
    this.tripMs = blend(this.tripMs, ms, TRIP_WEIGHT);
  }

  /** How long jobs held ahead may wait for a slot before they go back (see HOLD_RUNS); null: as long as it takes. */
  get holdMs(): number | null {
    return this.fixed !== null ? null : Math.max(HOLD_FLOOR_MS, HOLD_RUNS * (this.runMs ?? 0));
  }

  /** Jobs to hold beyond the free slots now. */
  get jobs(): number {
    if (this.fixed !== null) return this.fixed;
    if (this.runMs === null || this.tripMs === null) return 0;
    // A floor on the run time: a no-op handler's few microseconds would otherwise read as infinite turnover.
    const finishing = (this.concurrency * this.tripMs) / Math.max(this.runMs, 0.01);
    return finishing < 1 ? 0 : Math.min(this.autoMax, Math.round(finishing));
  }
}
