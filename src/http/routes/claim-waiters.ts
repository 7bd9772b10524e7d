/**
 * Long-polling claims wait here, per queue, until work may have arrived:
 * never by polling the store. The wake-ups are the in-process dispatch
 * loop's own (core/worker/dispatch-loop.ts):
 *   - this node's transitions, from the event bus: an enqueue, a retry, a
 *     rescue, a release, a dependency done, and (for a queue whose claims
 *     were held back by flow control) any finish;
 *   - other processes' commits, from `store.watchChanges` (NOTIFY on
 *     Postgres, `data_version` on SQLite);
 *   - the earliest scheduled job of the queue falling due (one read of
 *     `jobNextRunAt` per queue after a wake, shared by its waiters);
 *   - a resume or a raised limit through this node's HTTP API (`poke`).
 * Both subscriptions are held only while someone waits, and a few seconds
 * after, so a busy remote worker does not subscribe and unsubscribe per claim.
 */
import type { JobEvent } from '../../contracts/events.js';
import type { Jobq } from '../../core/jobq.js';

/** Keep the subscriptions this long after the last waiter left. */
const LINGER_MS = 5_000;

/** Event kinds after which a job of the queue may be claimable now (or at its runAt). */
const READY_KINDS = new Set<JobEvent['kind']>(['enqueued', 'released', 'rescued', 'retrying', 'retried', 'ready', 'throttled']);
const FINISH_KINDS = new Set<JobEvent['kind']>(['completed', 'failed', 'cancelled', 'retrying', 'rescued', 'released']);

export interface Waiter {
  /** Set by any wake-up since the last claim began; the claim loop clears it before claiming. */
  woken: boolean;
  /** The last claim was held back by flow control: a finish in the queue may free a slot. */
  limited: boolean;
  /** The token the claim came with was revoked while it waited. */
  readonly revoked: boolean;
  /**
   * Resolves on a wake-up, after `ms`, or when `signal` aborts. `nextRunAt`: when the queue's
   * next scheduled job falls due, as the empty claim said (ClaimedJobs); absent, it is read.
   */
  sleep(ms: number, signal: AbortSignal, nextRunAt?: number | null): Promise<void>;
  dispose(): void;
}

interface QueueWaiters {
  waiters: Set<WaiterImpl>;
  /** Earliest known runAt of a scheduled job; Infinity when none; null when unknown (read it). */
  dueAt: number | null;
  dueTimer: NodeJS.Timeout | null;
  reading: Promise<void> | null;
}

class WaiterImpl implements Waiter {
  woken = false;
  limited = false;
  revoked = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly queue: string,
    readonly tokenId: string | null,
    private readonly owner: ClaimWaiters,
  ) {}

  fire(): void {
    this.woken = true;
    this.wake?.();
  }

  async sleep(ms: number, signal: AbortSignal, nextRunAt?: number | null): Promise<void> {
    if (this.woken || this.revoked || signal.aborted || this.owner.closed) return;
    await this.owner.ensureDue(this.queue, nextRunAt);
    if (this.woken || this.revoked || signal.aborted || this.owner.closed) return;
    const until = Date.now() + ms;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      // Timers run on the monotonic clock and the deadline on Date.now(): the two can disagree by a
      // millisecond, and a timer that fired just before `until` left the claim 1 ms to wait, so it
      // claimed once more before answering (seen in the long-poll test). Sleep out the rest instead.
      const expire = () => {
        const left = until - Date.now();
        if (left > 0) timer = setTimeout(expire, left);
        else done();
      };
      let timer = setTimeout(expire, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  dispose(): void {
    this.wake?.();
    this.owner.remove(this);
  }
}

export class ClaimWaiters {
  closed = false;
  private readonly queues = new Map<string, QueueWaiters>();
  private count = 0;
  private unsubscribe: (() => void) | null = null;
  private unwatch: (() => void) | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(private readonly jobq: Jobq) {}

  /** Registers before the claim, so a wake-up between the claim and the sleep is never missed. */
  register(queue: string, tokenId: string | null = null): Waiter {
    let q = this.queues.get(queue);
    if (!q) this.queues.set(queue, (q = { waiters: new Set(), dueAt: null, dueTimer: null, reading: null }));
    const w = new WaiterImpl(queue, tokenId, this);
    q.waiters.add(w);
    if (this.count++ === 0) this.subscribe();
    return w;
  }

  remove(w: WaiterImpl): void {
    const q = this.queues.get(w.queue);
    if (!q?.waiters.delete(w)) return;
    if (q.waiters.size === 0) {
      if (q.dueTimer) clearTimeout(q.dueTimer);
      this.queues.delete(w.queue);
    }
    if (--this.count === 0) {
      this.lingerTimer = setTimeout(() => this.unsubscribeAll(), LINGER_MS);
      this.lingerTimer.unref();
    }
  }

  /** Work may have arrived in these queues (every queue when omitted). */
  poke(queues?: readonly string[]): void {
    for (const [name, q] of this.queues) {
      if (queues !== undefined && !queues.includes(name)) continue;
      q.dueAt = null; // a change elsewhere may have scheduled something sooner
      for (const w of q.waiters) w.fire();
    }
  }

  /** Ends the waits of claims made with these tokens (revoked): they answer 401. */
  revoke(tokenIds: ReadonlySet<string>): void {
    for (const q of this.queues.values()) {
      for (const w of q.waiters) {
        if (w.tokenId === null || !tokenIds.has(w.tokenId)) continue;
        w.revoked = true;
        w.fire();
      }
    }
  }

  /** Ends every wait (the server is closing): the claims answer what they have. */
  close(): void {
    this.closed = true;
    this.poke();
    this.unsubscribeAll();
  }

  private subscribe(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    if (this.unsubscribe === null) {
      const sub = this.jobq.events.subscribe((e) => this.onEvent(e), { cluster: false });
      this.unsubscribe = () => sub.unsubscribe();
    }
    if (this.unwatch === null && this.jobq.store.watchChanges) this.unwatch = this.jobq.store.watchChanges((queues) => this.poke(queues));
  }

  private unsubscribeAll(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.unsubscribe?.();
    this.unwatch?.();
    this.unsubscribe = this.unwatch = null;
  }

  private onEvent(e: JobEvent): void {
    const q = this.queues.get(e.queue);
    if (!q) return;
    if (READY_KINDS.has(e.kind)) {
      if (e.status === 'pending') for (const w of q.waiters) w.fire();
      else if (e.status === 'scheduled') {
        if (e.runAt !== undefined) this.dueAt(e.queue, q, e.runAt);
        else q.dueAt = null;
      }
    }
    if (FINISH_KINDS.has(e.kind)) for (const w of q.waiters) if (w.limited) w.fire();
  }

  /** Makes sure a timer wakes the queue's waiters when its earliest scheduled job falls due (`known`: as a claim just read it). */
  async ensureDue(queue: string, known?: number | null): Promise<void> {
    const q = this.queues.get(queue);
    if (q && known !== undefined) return this.dueAt(queue, q, known);
    if (!q || q.dueAt !== null) return;
    q.reading ??= (async () => {
      try {
        const next = await this.jobq.store.jobNextRunAt(queue);
        q.dueAt = Infinity;
        this.dueAt(queue, q, next);
      } catch {
        q.dueAt = Infinity; // the wait ends at its deadline anyway
      } finally {
        q.reading = null;
      }
    })();
    await q.reading;
  }

  /** The queue's earliest scheduled job falls due at `runAt` (null: none is scheduled). */
  private dueAt(queue: string, q: QueueWaiters, runAt: number | null): void {
    if (runAt === null) {
      q.dueAt ??= Infinity;
      return;
    }
    if (q.dueAt !== null && runAt >= q.dueAt) return;
    q.dueAt = runAt;
    if (q.dueTimer) clearTimeout(q.dueTimer);
    // Capped: a far-off job needs no timer (the wait ends within 30 s anyway).
    q.dueTimer = setTimeout(() => {
      q.dueTimer = null;
      q.dueAt = null;
      if (this.queues.get(queue) === q) for (const w of q.waiters) w.fire();
    }, Math.min(Math.max(0, runAt - Date.now()), 60_000));
    q.dueTimer.unref();
  }
}
