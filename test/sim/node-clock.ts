/**
 * One simulated node's view of the shared fake clock. Crashing the node
 * silences every timer it set (a kill -9: nothing of it runs again), and
 * `lag` delays its timers, which is how heartbeats arrive late.
 */
import type { Clock, TimerHandle } from '../../src/core/clock.js';
import type { SimClock } from './sim-clock.js';

export class NodeClock implements Clock {
  dead = false;
  /** Extra delay added to every timer this node sets, in ms. */
  lag = 0;
  constructor(private readonly shared: SimClock) {}
  now(): number {
    return this.shared.now();
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    return this.shared.setTimer(() => {
      if (this.dead) return false;
      fn();
      return true;
    }, ms + this.lag);
  }
}
