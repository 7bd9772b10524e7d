/**
 * The one owner of "what is running on this node": every leased job a
 * handler is working on, by id and counted per queue. Dispatch loops read
 * their free slots here; the lease keeper heartbeats what is here; a drain
 * waits until it is empty.
 */
import type { LeasedJob } from '../../contracts/job.js';
import type { TimerHandle } from '../clock.js';
import type { AbortReason } from '../handler.js';
import { abortRun } from './job-context.js';

export interface RunningJob {
  job: LeasedJob;
  /** Created on first use of ctx.signal: most handlers never look (4 % of a no-op job's cost). */
  controller: AbortController | null;
  abortReason: AbortReason | null;
  timeoutTimer: TimerHandle | null;
  /** Set once the slot is given back; later settles of the handler are ignored. */
  done: boolean;
  /** performance.now() when its handler started (the prefetch follows run times). */
  startedAt: number;
}

export class RunningJobs {
  private readonly byId = new Map<string, RunningJob>();
  private readonly perQueue = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.byId.size;
  }

  count(queue: string): number {
    return this.perQueue.get(queue) ?? 0;
  }

  get(id: string): RunningJob | undefined {
    return this.byId.get(id);
  }

  list(): RunningJob[] {
    return [...this.byId.values()];
  }

  /**
   * Returns the earlier attempt of the same job still here, if any: its lease
   * was lost (the job could not be claimed again otherwise) while its handler
   * ran on. It is given up (slot freed, signal aborted) so the new attempt
   * alone is heartbeated and finished.
   */
  add(rj: RunningJob): RunningJob | undefined {
    const stale = this.byId.get(rj.job.id);
    if (stale) {
      this.remove(stale);
      abortRun(stale, 'lease_lost');
    }
    this.byId.set(rj.job.id, rj);
    this.perQueue.set(rj.job.queue, this.count(rj.job.queue) + 1);
    return stale;
  }

  /** Frees the slot (once); resolves drains when the last one goes. */
  remove(rj: RunningJob): boolean {
    if (rj.done) return false;
    rj.done = true;
    rj.timeoutTimer?.cancel();
    if (this.byId.get(rj.job.id) === rj) this.byId.delete(rj.job.id);
    this.perQueue.set(rj.job.queue, this.count(rj.job.queue) - 1);
    if (this.byId.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    return true;
  }

  whenIdle(): Promise<void> {
    if (this.byId.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

