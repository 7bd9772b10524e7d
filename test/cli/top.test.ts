/**
 * The terminal live views, run for real under tmux (a terminal: raw keys,
 * the alternate screen, progress lines): `jobq top`, `jobq enqueue --file`
 * with its progress bar and summary, `jobq status --wait` following a job.
 * The server is a real one over SQLite on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = (session: string) => tmux('capture-pane', '-p', '-t', session);

/** Runs a command in a fresh 120x30 tmux session; a shell prints its exit code after it and keeps the screen. */
function start(session: string, command: string): void {
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', `sh -c '${command}; echo "exit=$?"; sleep 600'`);
}
/** The command's exit code once it exited, else null. */
const exited = (session: string) => {
  const m = /exit=(\d+)/.exec(screen(session));
  return m ? Number(m[1]) : null;
};

describe('terminal live views under tmux', { skip: hasTmux ? false : 'tmux not found: apt-get install tmux (.ci/run does)' }, () => {
  let s: TestServer;
  const dir = tempDir();
  const gates: (() => void)[] = [];
  const sessions: string[] = [];
  const session = (name: string) => {
    const id = `jobq-${name}-${process.pid}`;
    sessions.push(id);
    return id;
  };

  before(async () => {
    s = await startTestServer({
      handlers: {
        hold: () => new Promise<void>((r) => gates.push(r)),
        steps: async (_job, ctx) => {
          for (const p of [25, 50, 75]) {
            await ctx.progress(p);
            await new Promise<void>((r) => gates.push(r));
          }
          return 'done';
        },
        quick: async () => 1,
      },
      jobq: { queues: { default: { concurrency: 5 }, imports: { concurrency: 20 } } },
    });
  });
  after(async () => {
    for (const id of sessions) spawnSync('tmux', ['kill-session', '-t', id]);
    for (const g of gates.splice(0)) g();
    await s.close();
    dir.remove();
  });

  it('jobq top shows each queue and follows jobs as they move, and quits on q', async () => {
    await s.jobq.waitFor((await s.jobq.enqueue({ type: 'quick', queue: 'imports' })).id);
    const id = session('top');
    start(id, `${process.execPath} ${MAIN} top --url ${s.url} --interval-ms 200`);
    const row = (queue: string) => screen(id).split('\n').find((l) => l.startsWith(`${queue} `));
    await waitFor(() => screen(id).includes('live') && row('imports'), { what: 'the top screen with the imports queue' });
    assert.match(screen(id), /QUEUE\s+STATE\s+PENDING\s+RUNNING\s+SCHED\s+FAILED\s+ENQ\/s\s+DONE\/s\s+FAIL\/s\s+WAIT p50\s+p99/);
    await s.jobq.enqueueMany(Array.from({ length: 12 }, () => ({ type: 'hold' })));
    // Five run (the queue's concurrency), seven wait; top shows both within a couple of refreshes.
    const cells = () => row('default')?.trim().split(/\s+/) ?? [];
    await waitFor(() => cells()[2] === '7' && cells()[3] === '5', { timeoutMs: 15_000, what: `default: 7 pending, 5 running (saw "${row('default')}")` });
    assert.match(row('default')!, /^default\s+active/);
    // Enqueue rate from the stats frames: 12 jobs in the last seconds, so ENQ/s above 0.
    await waitFor(() => Number(cells()[6]) > 0, { what: 'a non-zero enqueue rate' });
    // Each release lets the next held jobs start: keep opening gates until the queue is empty on screen.
    await waitFor(() => {
      for (const g of gates.splice(0)) g();
      return cells()[2] === '0' && cells()[3] === '0';
    }, { timeoutMs: 15_000, what: 'the queue drained on screen' });
    tmux('send-keys', '-t', id, 'q');
    await waitFor(() => exited(id) !== null, { what: 'top to exit on q' });
    assert.equal(exited(id), 0);
  });

  it('jobq enqueue --file sends every line in batches with a progress bar, and sums up (bad lines named)', async () => {
    const file = `${dir.path}/jobs.ndjson`;
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ type: 'quick', queue: 'imports', payload: { i } }));
    lines.splice(1500, 0, '{"type": broken');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const id = session('file');
    start(id, `${process.execPath} ${MAIN} enqueue --file ${file} --batch-size 200 --url ${s.url}`);
    await waitFor(() => exited(id) !== null, { timeoutMs: 30_000, what: 'the import to finish' });
    const out = screen(id);
    assert.match(out, /\[#{30}\] 3,001\/3,001 100%\s+[\d,]+ jobs\/s\s+ETA 0s/);
    assert.match(out, /enqueued 3,000 of 3,001 jobs in [\d.]+ s \([\d,]+ jobs\/s\), 1 failed/);
    assert.match(out, /line 1501: not JSON/);
    assert.equal(exited(id), 1, 'exit 1: a line failed');
    const page = await s.jobq.list({ queue: 'imports', limit: 500 });
    assert.ok(page.jobs.length === 500 && page.nextCursor !== null);
    let n = 0;
    for (let cursor: string | null | undefined; ; ) {
      const p = await s.jobq.list({ queue: 'imports', limit: 500, ...(cursor && { cursor }) });
      n += p.jobs.length;
      if (!(cursor = p.nextCursor)) break;
    }
    assert.equal(n, 3001, '3,000 from the file and the one from the first test');
  });

  it('jobq status --wait shows the job moving (progress included) and exits 0 once it completed', async () => {
    const job = await s.jobq.enqueue({ type: 'steps' });
    const id = session('status');
    start(id, `${process.execPath} ${MAIN} status ${job.id} --wait --url ${s.url}`);
    for (const p of [25, 50, 75]) {
      await waitFor(() => screen(id).includes(`progress ${p}`), { what: `progress ${p} on screen`, timeoutMs: 10_000 }).catch((e) => {
        throw new Error(`${e.message}; screen: ${screen(id)}`);
      });
      gates.shift()?.();
    }
    await waitFor(() => exited(id) !== null, { what: 'status --wait to exit' });
    assert.equal(exited(id), 0);
    assert.match(screen(id), /status\s+completed/);
  });
});
