/**
 * GET /v1/events over real loopback sockets and a real SQLite store: the wire
 * format, filters, Last-Event-ID resume and its gap, keep-alive, the slow
 * reader dropped without the server's memory growing, and the end frame on
 * shutdown.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface Frame {
  id?: string;
  event: string;
  data?: any;
  comment?: string;
}

/** An SSE reader over fetch that records every frame. */
function open(url: string, headers: Record<string, string> = {}) {
  const frames: Frame[] = [];
  const ctl = new AbortController();
  let ended = false;
  let status = 0;
  let contentType = '';
  const done = (async () => {
    const res = await fetch(url, { headers, signal: ctl.signal });
    status = res.status;
    contentType = res.headers.get('content-type') ?? '';
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: Frame = { event: 'message' };
          for (const line of raw.split('\n')) {
            if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
            else if (line.startsWith(':')) f.comment = line.slice(1).trim();
          }
          frames.push(f);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    frames,
    get ended() {
      return ended;
    },
    get status() {
      return status;
    },
    get contentType() {
      return contentType;
    },
    messages: () => frames.filter((f) => f.event === 'message' && f.data !== undefined),
    close: async () => {
      ctl.abort();
      await done.catch(() => {});
    },
  };
}

describe('GET /v1/events', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      handlers: { ok: async () => 1, bad: async () => Promise.reject(new Error('nope')) },
      jobq: { queues: { default: { concurrency: 10 }, other: { concurrency: 10 } }, retry: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 } },
      http: { liveView: { events: { stream: { keepAliveMs: 200, statsIntervalMs: 100 } } } },
    });
  });
  after(() => s.close());

  it('streams each event once with an id, filtered by queue, type, job id and kinds, times as ISO 8601', async () => {
    const all = open(`${s.url}/v1/events?queue=default`);
    const byType = open(`${s.url}/v1/events?type=bad&kinds=failed,retrying`);
    await waitFor(() => all.frames.length > 0 && byType.frames.length > 0, { what: 'both connected' });
    assert.equal(all.status, 200);
    assert.match(all.contentType, /^text\/event-stream/);
    const good = await s.jobq.enqueue({ type: 'ok' });
    const bad = await s.jobq.enqueue({ type: 'bad', maxAttempts: 2 });
    await s.jobq.enqueue({ type: 'ok', queue: 'other' });
    const one = open(`${s.url}/v1/events?jobId=${good.id}`);
    await s.jobq.waitFor(bad.id);
    await waitFor(() => all.messages().filter((f) => f.data.jobId === bad.id && f.data.kind === 'failed').length === 1, { what: 'the failure' });
    const kinds = (id: string) => all.messages().filter((f) => f.data.jobId === id).map((f) => f.data.kind);
    assert.deepEqual(kinds(good.id), ['enqueued', 'started', 'completed']);
    assert.deepEqual(kinds(bad.id), ['enqueued', 'started', 'retrying', 'started', 'failed']);
    assert.ok(all.messages().every((f) => f.data.queue === 'default'), 'only the queue asked for');
    const ids = all.messages().map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    const failed = all.messages().find((f) => f.data.kind === 'failed')!.data;
    assert.deepEqual(Object.keys(failed).sort(), ['at', 'attempt', 'error', 'jobId', 'kind', 'queue', 'status', 'type']);
    assert.equal(failed.error, 'nope');
    assert.equal(new Date(failed.at).toISOString(), failed.at);
    // A start says when its job was due (its creation here), so a watcher can tell its wait.
    const started = all.messages().find((f) => f.data.jobId === good.id && f.data.kind === 'started')!.data;
    assert.deepEqual(Object.keys(started).sort(), ['at', 'attempt', 'dueAt', 'jobId', 'kind', 'queue', 'status', 'type']);
    const stored = (await s.jobq.get(good.id))!;
    assert.equal(started.dueAt, new Date(Math.max(stored.runAt, stored.createdAt)).toISOString());
    assert.ok(started.dueAt <= started.at);
    await waitFor(() => byType.messages().length === 2, { what: 'retrying and failed of the bad type' });
    assert.deepEqual(byType.messages().map((f) => f.data.kind), ['retrying', 'failed']);
    // A job-id subscriber that came late still sees what happened after it connected, and nothing of other jobs.
    assert.ok(one.messages().every((f) => f.data.jobId === good.id));
    await Promise.all([all.close(), byType.close(), one.close()]);
  });

  it('resumes after Last-Event-ID with exactly what was missed, and says "gap" for an id it no longer has', async () => {
    const first = open(`${s.url}/v1/events?queue=other`);
    // Connected first: a job that ran before the stream opened sends it nothing (a full suite's load made this race).
    await waitFor(() => first.frames.length > 0, { what: 'the stream to open' });
    const a = await s.jobq.enqueue({ type: 'ok', queue: 'other' });
    await waitFor(() => first.messages().some((f) => f.data.jobId === a.id && f.data.kind === 'completed'), { what: 'a completed' });
    const last = first.messages().at(-1)!.id!;
    await first.close();
    const b = await s.jobq.enqueue({ type: 'ok', queue: 'other' });
    await s.jobq.waitFor(b.id);
    await s.jobq.enqueue({ type: 'ok', queue: 'default' });
    const again = open(`${s.url}/v1/events?queue=other`, { 'last-event-id': last });
    await waitFor(() => again.messages().filter((f) => f.data.jobId === b.id).length === 3, { what: 'the missed events of b' });
    assert.deepEqual(again.messages().map((f) => [f.data.jobId, f.data.kind]), [[b.id, 'enqueued'], [b.id, 'started'], [b.id, 'completed']]);
    await again.close();

    const stale = open(`${s.url}/v1/events?lastEventId=abc-1`);
    await waitFor(() => stale.frames.some((f) => f.event === 'gap'), { what: 'the gap frame' });
    assert.equal(stale.frames.find((f) => f.event === 'gap')!.data.lastEventId, 'abc-1');
    await stale.close();
  });

  it('keeps idle streams alive with a comment, and sends stats frames (counts per queue) when asked', async () => {
    const idle = open(`${s.url}/v1/events?jobId=00000000-0000-7000-8000-000000000000&stats=1&events=0`);
    await s.jobq.waitFor((await s.jobq.enqueue({ type: 'ok' })).id);
    await waitFor(() => idle.frames.some((f) => f.comment === 'keep-alive'), { what: 'a keep-alive comment' });
    await waitFor(() => idle.frames.some((f) => f.event === 'stats' && f.data.queues.default?.completed >= 1), { what: 'a stats frame counting the job' });
    assert.equal(idle.messages().length, 0, 'events=0: no job events');
    await idle.close();
  });

  it('refuses an unknown kind with a 400 naming it, and takes every kind there is (lease_lost too)', async () => {
    const res = await fetch(`${s.url}/v1/events?kinds=started,exploded`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /"exploded"/);
    const lost = open(`${s.url}/v1/events?kinds=lease_lost,rescued`);
    await waitFor(() => lost.frames.length > 0, { what: 'the stream to open' });
    assert.equal(lost.status, 200);
    await lost.close();
  });

  it('drops a reader that stops reading once 1 MiB waits for it, and holds no more for it', async () => {
    // A raw socket that never reads: the kernel buffers fill, then the server's.
    const url = new URL(`${s.url}/v1/events`);
    const req = request({ host: url.hostname, port: url.port, path: '/v1/events', headers: { accept: 'text/event-stream' } });
    req.on('response', (res) => {
      res.pause();
      res.socket.pause();
    });
    req.on('error', () => {});
    req.end();
    await waitFor(() => s.jobq.events.subscriberCount > 0, { what: 'subscribed' });
    const before = process.memoryUsage().rss;
    // Loopback socket buffers hold a few MB: keep events coming (about 250 bytes each) until the server gives up on the reader
    // (the paused client cannot see its socket close; the server's own counters say it).
    const dropped = async () => Number(/^jobq_event_stream_dropped_total (\d+)/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
    for (let i = 0; i < 200 && (await dropped()) === 0; i++) {
      await s.jobq.enqueueMany(Array.from({ length: 1000 }, () => ({ type: 'nothing-handles-this', queue: 'flood' })));
    }
    assert.equal(await dropped(), 1);
    // What was waiting for it is gone: the server did not keep the frames it could not send.
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    req.destroy();
  });

  it('ends every stream with an end frame when the server closes', async () => {
    const t = await startTestServer({ handlers: { ok: async () => 1 } });
    const c = open(`${t.url}/v1/events`);
    await waitFor(() => c.frames.length > 0, { what: 'connected' });
    const closing = t.close();
    await waitFor(() => c.ended, { what: 'the stream to end' });
    await closing;
    assert.deepEqual(c.frames.at(-1), { event: 'end', data: { reason: 'shutting_down' } });
  });
});
