/**
 * V8 settings for a process that serves HTTP, applied before the app is built.
 *
 * Allocation-site pretenuring is turned off. V8 watches, per allocation site
 * (an object or array literal in Node's HTTP parser, streams, Fastify, ours),
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
 * Left alone when the operator set the flag either way (node
 * --allocation-site-pretenuring, or NODE_OPTIONS).
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = 'allocation-site-pretenuring';

export function tuneHeapForServing(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): void {
  const set = (s: string) => s.replaceAll('_', '-').includes(FLAG);
  if (execArgv.some(set) || set(nodeOptions)) return;
  setFlagsFromString(`--no-${FLAG}`);
}
