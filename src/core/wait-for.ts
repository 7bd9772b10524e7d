/**
 * Waits for a job to end (completed, failed or cancelled). It listens for the
 * job's events first and reads the job after, so an end between the two is
 * never missed; a slow look every second covers events lost across
 * processes (they are best effort there).
 */
import { JobqError } from '../contracts/errors.js';
import { isFinished, type Job } from '../contracts/job.js';
import type { Clock } from './clock.js';
import type { EventBus } from './events/event-bus.js';

interface Source {
  events: EventBus;
  get(id: string): Promise<Job | null>;
}

const SAFETY_POLL_MS = 1000;

export function waitForJob(src: Source, id: string, timeoutMs: number, clock: Clock): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    let done = false;
    let checking = false;
    let recheck = false;
    const finish = (err: Error | null, job?: Job) => {
      if (done) return;
      done = true;
      sub.unsubscribe();
      deadline.cancel();
      poll.cancel();
      if (err) reject(err);
      else resolve(job!);
    };
    const check = async () => {
      if (done) return;
      if (checking) {
        recheck = true;
        return;
      }
      checking = true;
      try {
        do {
          recheck = false;
          const job = await src.get(id);
          if (!job) return finish(new JobqError('not_found', `no job with id ${id}`));
          if (isFinished(job.status)) return finish(null, job);
        } while (recheck && !done);
      } catch (err) {
        finish(err as Error);
      } finally {
        checking = false;
      }
    };
    const sub = src.events.subscribe((e) => isFinished(e.status) && void check(), { filter: { jobId: id } });
    const deadline = clock.setTimer(() => finish(new JobqError('timeout', `job ${id} did not finish within ${timeoutMs} ms`)), timeoutMs);
    let poll = clock.setTimer(function tick() {
      void check();
      if (!done) poll = clock.setTimer(tick, SAFETY_POLL_MS);
    }, SAFETY_POLL_MS);
    void check();
  });
}
