/**
 * Remote workers as nodes: a worker that claims over HTTP is announced in
 * the node registry (as `remote:<worker>:<queue>` with the types it asked
 * for), so the queue listing does not count its jobs as unhandled and an
 * enqueue does not warn that nobody works them. Announced when it claims,
 * and again every node heartbeat while its claim waits; it drops out of the
 * live nodes three heartbeats after its last claim, like a stopped node.
 */
import type { Jobq } from '../../core/jobq.js';

export class RemotePresence {
  private readonly last = new Map<string, number>();

  constructor(private readonly jobq: Jobq) {}

  private get intervalMs(): number {
    return this.jobq.options.nodeHeartbeatMs;
  }

  /** Announces now if due; returns how to keep announcing while a claim waits (call the result to stop). */
  hold(worker: string, host: string, queue: string, types: readonly string[] | undefined): () => void {
    const id = `remote:${worker}:${queue}`;
    const announce = () => {
      const now = Date.now();
      if (now - (this.last.get(id) ?? 0) < this.intervalMs) return;
      this.last.set(id, now);
      if (this.last.size > 10_000) this.last.clear(); // bounded: an entry only saves a write
      // Types: what it asked for; a worker that takes any type is shown as handling none in particular.
      void this.jobq.store
        .nodeHeartbeat({ id, queues: [queue], types: types ?? [], startedAt: now, heartbeatAt: now, host, pid: 0 })
        .catch(() => this.last.delete(id));
    };
    announce();
    const timer = setInterval(announce, this.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
