/**
 * V8 settings for the processes the CLI owns (`jobq serve`, `jobq worker`),
 * applied before the app is built. Each is left alone when the operator set
 * it either way (node flags, or NODE_OPTIONS). A library user's process is
 * never touched: these are the CLI's choices, and docs/architecture.md says
 * how to make them in your own process.
 *
 * **Pretenuring off** (serving HTTP). V8 watches, per allocation site (an
 * object or array literal in Node's HTTP parser, streams, Fastify, ours),
 * how many of its objects survive a scavenge, and from a high ratio on it
 * allocates that site's objects straight in old space. Requests whose
 * response stays open (1,000 event-stream subscribers, long-poll claims)
 * keep every object of their request alive, so the sites that build each
 * request's IncomingMessage, ServerResponse and headers get pretenured, and
 * every later short request's objects then go to old space too: they die
 * there, and whatever young objects they point to is promoted with them.
 * Measured on `jobq serve` (SQLite, wrk -c50): with 1,000 open streams,
 * 10 s of GET /healthz promoted 850 MB (without streams: 10 MB) and spent
 * 1.3 s in scavenges (0.1 s); single-job enqueues promoted 87 MB against
 * 11 MB and doubled GC time. With pretenuring off the streams promote 15 MB,
 * as good as no streams. jobq's request path allocates nothing long-lived
 * that would gain from pretenuring.
 *
 * **The young generation kept at its first size** (`jobq worker` on SQLite
 * and Postgres). Job churn makes V8 double the young generation's
 * semi-spaces up to 16 MB each, and that is most of what a worker's peak RSS
 * grows by: draining 50,000 jobs at concurrency 50 on SQLite peaked at
 * 127-129 MB, and at 80-82 MB with the growth factor at 1, at
 * 50,934-51,447 -> 52,706-53,375 jobs/s (2 runs each). On Postgres the same
 * drain peaked at 121-126 MB, and at 91-94 MB with it, for 2 % of its rate
 * (medians of 5 alternated runs: 24,066 -> 23,503 jobs/s; the driver's
 * buffers live across round trips, and small scavenges promote some).
 * Nor for the memory store: with every job
 * held in the heap, small scavenges cost it 24 % of its drain rate.
 * Nor for `jobq serve`: with 50 requests in flight, small scavenges promote
 * their objects. Single-job HTTP enqueue spent 602 of 4,482 ms of CPU in GC
 * with the setting and 138 of 4,374 ms without, and ran at 27.0-29.2k against
 * 29.3-31.3k req/s (4 alternated runs each).
 * (--max-semi-space-size would do the same, but only as a node flag: V8
 * reads it when the heap is created; the growth factor it reads when it
 * grows.)
 *
 * **The old generation collected at twice what it holds live** (`jobq
 * worker` on SQLite and Postgres, `--heap-growing-percent=100`). With a small
 * young generation, whatever a job holds across a round trip or a batch is
 * promoted, and dies in old space. V8 lets old space grow to up to four times
 * what its last full collection kept (by its speed) before collecting it
 * again: at concurrency 200, a Postgres worker's old space reached 28-31 MB
 * (8 live) and its peak RSS 78-81 MB, a SQLite worker draining 100,000 jobs
 * 27 MB and 79-81 MB. At twice: 15 MB, 66-67 and 68.5-68.8 MB, for 12 full
 * collections of 1-2 ms each instead of 6 in the 100,000-job drain (its rate
 * 51.7-51.8k against 52.2-52.8k jobs/s). The factor also replaces V8's
 * smaller ones when memory runs short (1.3, 1.1); a limit never exceeds
 * halfway to the heap's maximum either way. Not for the memory store, whose
 * jobs live in the heap, nor for `jobq serve`.
 */
import { setFlagsFromString } from 'node:v8';

/** Whether the operator set a flag whose name contains `name` (as `--name`, `--no-name`, `--name=…`, with - or _). */
function operatorSet(name: string, execArgv: readonly string[], nodeOptions: string): boolean {
  const has = (s: string) => s.replaceAll('_', '-').includes(name);
  return execArgv.some(has) || has(nodeOptions);
}

export function tuneHeapForServing(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): void {
  if (!operatorSet('allocation-site-pretenuring', execArgv, nodeOptions)) setFlagsFromString('--no-allocation-site-pretenuring');
}

/** The growth factor the operator gave node (`--semi-space-growth-factor=N`, with - or _, `=` or a space), if any. */
function operatorGrowthFactor(execArgv: readonly string[], nodeOptions: string): number | undefined {
  const m = /--semi[-_]space[-_]growth[-_]factor[= ](\d+)/.exec(`${execArgv.join(' ')} ${nodeOptions}`);
  return m ? Number(m[1]) : undefined;
}

/**
 * A V8 setting jobq worker makes, which may have to be put back to V8's own
 * value (flag-definitions.h) once the store is known: main.ts makes it before
 * the CLI's modules load (tuneWorkerHeapFromStart), and the memory store
 * does not want it.
 */
class WorkerSetting {
  private made = false;
  constructor(
    private readonly flag: string,
    private readonly ours: number,
    private readonly v8Own: number,
  ) {}

  make(): void {
    setFlagsFromString(`--${this.flag}=${this.ours}`);
    this.made = true;
  }

  putBack(): void {
    if (this.made) setFlagsFromString(`--${this.flag}=${this.v8Own}`);
    this.made = false;
  }
}

const youngGrowth = new WorkerSetting('semi-space-growth-factor', 1, 2);
const oldGrowth = new WorkerSetting('heap-growing-percent', 100, 0);

/**
 * For a `jobq worker` process on the SQLite or Postgres store (`store`
 * undefined: not known yet, as for those); returns whether the young
 * generation is kept small. A growth factor the operator gave node is applied
 * again here, in any mode: Node 20 does not honour it as a node flag (the
 * young generation still doubled to 16 MB semi-spaces), only set at run time.
 */
export function keepYoungGenerationSmall(mode: 'serve' | 'worker', store: string | undefined, execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  const theirs = operatorGrowthFactor(execArgv, nodeOptions);
  if (theirs !== undefined) {
    setFlagsFromString(`--semi-space-growth-factor=${theirs}`);
    return theirs <= 1;
  }
  if (mode !== 'worker' || store === 'memory' || operatorSet('semi-space', execArgv, nodeOptions)) {
    youngGrowth.putBack();
    return false;
  }
  youngGrowth.make();
  return true;
}

/**
 * For a `jobq worker` process on the SQLite or Postgres store (`store`
 * undefined: not known yet): full collections at twice the live old
 * generation (see above). Returns whether it is so; never over the
 * operator's own `--heap-growing-percent`.
 */
export function keepOldGenerationTight(mode: 'serve' | 'worker', store: string | undefined, execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  if (operatorSet('heap-growing-percent', execArgv, nodeOptions)) return false;
  if (mode !== 'worker' || store === 'memory') {
    oldGrowth.putBack();
    return false;
  }
  oldGrowth.make();
  return true;
}

/** Both worker settings, as runServer and the peer-harness adapters make them; returns whether the young generation is kept small. */
export function keepWorkerHeapSmall(mode: 'serve' | 'worker', store: string | undefined, execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  keepOldGenerationTight(mode, store, execArgv, nodeOptions);
  return keepYoungGenerationSmall(mode, store, execArgv, nodeOptions);
}

/**
 * `jobq worker`'s settings, made by main.ts before the CLI's modules load,
 * while its store is not known yet: loading them doubled the young
 * generation once (4.2 MB instead of 2.1 after a drain) before runServer
 * made its setting, and it stayed so. runServer's keepWorkerHeapSmall then
 * keeps them or, for the memory store, puts V8's own back. Returns whether
 * the young generation is kept small.
 */
export function tuneWorkerHeapFromStart(argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  return argv[2] === 'worker' && keepWorkerHeapSmall('worker', undefined, execArgv, nodeOptions);
}
