/**
 * A remote worker process for bench/remote-workers.ts. argv[2] is JSON:
 * { url, token?, n, concurrency, kind: 'drain' | 'latency' }. It prints
 * {"ready":true} once running, and its result as the last stdout line once
 * it has handled n jobs and every finish is written (stop() drains them):
 * { handled } for a drain, { starts: { [jobId]: epoch ms } } for latency.
 */
import { JobqClient } from '../src/client/index.js';
import { consoleLogger } from '../src/client/worker-logger.js';
import { nowMs } from './stats.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { url: string; token?: string; n: number; concurrency: number; kind: 'drain' | 'latency'; claimsInFlight?: number };
/** latency: when each job's handler started, by id (the parent knows when it sent and when the enqueue was acknowledged). */
const starts: Record<string, number> = {};
let handled = 0;
let allDone!: () => void;
const done = new Promise<void>((r) => (allDone = r));

const worker = new JobqClient({ url: cfg.url, ...(cfg.token && { token: cfg.token }) }).runWorker({
  queues: { default: { concurrency: cfg.concurrency } },
  handlers: {
    noop: (job) => {
      const t = (job.payload as { t?: number } | null)?.t;
      if (cfg.kind === 'latency') {
        if (t === undefined) return;
        starts[job.id] = nowMs();
      }
      if (++handled === cfg.n) allDone();
    },
  },
  handleSignals: false,
  logger: consoleLogger('warn'),
  ...(cfg.claimsInFlight !== undefined && { claimsInFlight: cfg.claimsInFlight }),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await done;
await worker.stop(0);
const out = cfg.kind === 'latency' ? { starts } : { handled };
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
