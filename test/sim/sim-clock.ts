/**
 * The simulator's shared fake clock: time moves only in advance(), timers
 * fire one at a time in (time, creation) order, and after each one the
 * async work it started is given event-loop turns until it is done (see
 * settle()). A min-heap keeps firing O(log n) however many timers are
 * pending (test/helpers/fake-clock.ts sorts its whole list per timer, which
 * made long runs quadratic). A timer whose callback reports it did nothing (a
 * dead node's) is not followed by a settle.
 */
import type { TimerHandle } from '../../src/core/clock.js';

interface Timer {
  at: number;
  seq: number;
  /** Returns false when it did nothing (its node is dead). */
  fn: () => boolean | void;
  cancelled: boolean;
}

/**
 * After a timer fires, the work it started gets event-loop turns (setImmediate
 * rounds: group commits and claim loops hop through them) until a turn passes
 * with no activity: no store call, no event, no timer set (the simulator
 * reports its store calls and events through `poke()`), after at least a
 * minimum number of turns. The minimum is drawn per timer (`minTurns`): 2
 * lets a chain finish before the next timer fires, as an idle event loop
 * would; 1 lets the next timer cut in before the chain's next setImmediate,
 * as when several timers fall due in one pass of the loop, or the loop
 * stalls. The end of every advance() settles fully (FINAL_TURNS).
 */
export const MAX_SETTLE_TURNS = 12;
const FINAL_TURNS = 3;

const turn = () => new Promise<void>((r) => setImmediate(r));

function earlier(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class SimClock {
  private time: number;
  private readonly heap: Timer[] = [];
  private seq = 0;
  /** Timers fired (and not no-ops) so far: a cost figure. */
  fired = 0;
  /** Event-loop turns spent settling: a cost figure. */
  turns = 0;
  private activity = 0;

  /** @param minTurns the least turns to settle after each timer (drawn from the seed's RNG). */
  constructor(
    private readonly minTurns: () => number = () => 2,
    start = Date.UTC(2030, 0, 1),
  ) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Something happened (a store call, an event): settling goes on for another turn. */
  poke(): void {
    this.activity++;
  }

  /** Lets the async work under way run until a turn passes with nothing happening (at least `min` turns). */
  async settle(min: number): Promise<void> {
    let seen = this.activity;
    for (let i = 1; i <= MAX_SETTLE_TURNS; i++) {
      await turn();
      this.turns++;
      if (i >= min && this.activity === seen) return;
      seen = this.activity;
    }
  }

  setTimer(fn: () => boolean | void, ms: number): TimerHandle {
    this.activity++;
    const t: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }

  /** Moves time forward by `ms`, firing due timers one by one and letting their async work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await this.settle(FINAL_TURNS);
    for (;;) {
      const next = this.peekLive();
      if (!next || next.at > target) break;
      this.pop();
      this.time = Math.max(this.time, next.at);
      if (next.fn() !== false) {
        this.fired++;
        await this.settle(this.minTurns());
      }
    }
    this.time = target;
    await this.settle(FINAL_TURNS);
  }

  private peekLive(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(t: Timer): void {
    const a = this.heap;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const a = this.heap;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && earlier(a[l]!, a[m]!)) m = l;
        if (r < a.length && earlier(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
