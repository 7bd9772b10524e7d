/**
 * Leadership across real processes: one leader at a time; when the leader is
 * killed with SIGKILL, another node takes over within one heartbeat interval
 * (the lock dies with its holder: an advisory lock on Postgres, a file lock on
 * SQLite), and never two at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freshSchema, stopSharedCluster, testDatabaseUrl } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

after(stopSharedCluster);

const NODE = fileURLToPath(new URL('../fixtures/leader-node.js', import.meta.url));
const INTERVAL_MS = 300;

interface LeaderNode {
  child: ChildProcess;
  /** Leadership changes seen on its stdout, in order. */
  changes: { leader: boolean; at: number }[];
}

function start(args: string[]): LeaderNode {
  const child = spawn(process.execPath, [NODE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const node: LeaderNode = { child, changes: [] };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      node.changes.push(JSON.parse(buf.slice(0, i)) as { leader: boolean; at: number });
      buf = buf.slice(i + 1);
    }
  });
  return node;
}

const leads = (n: LeaderNode) => n.changes.at(-1)?.leader === true;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`leadership: ${backend}`, () => {
    it('one leader at a time; a leader killed -9 is replaced within one interval', async () => {
      const dir = tempDir();
      const args = backend === 'sqlite' ? ['sqlite', dir.file('jobs.db'), String(INTERVAL_MS)] : ['postgres', await testDatabaseUrl(), freshSchema(), String(INTERVAL_MS)];
      const a = start(args);
      const nodes = [a];
      try {
        await waitFor(() => leads(a), { what: 'the first node to lead', timeoutMs: 15_000 });
        const b = start(args);
        const c = start(args);
        nodes.push(b, c);
        await waitFor(() => b.changes.length > 0 && c.changes.length > 0, { what: 'the others to report', timeoutMs: 15_000 });
        // Let several intervals pass: the followers try and fail every interval.
        await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
        assert.equal(leads(b) || leads(c), false, 'a follower never leads while the leader lives');
        const killedAt = Date.now();
        a.child.kill('SIGKILL');
        await waitFor(() => leads(b) || leads(c), { what: 'a new leader', timeoutMs: 10_000, intervalMs: 5 });
        const next = leads(b) ? b : c;
        const other = next === b ? c : b;
        const tookMs = next.changes.at(-1)!.at - killedAt;
        console.log(`leadership | ${backend} | leader killed -9, next leader after ${tookMs} ms (interval ${INTERVAL_MS} ms)`);
        assert.ok(tookMs <= INTERVAL_MS + 250, `takeover took ${tookMs} ms, more than one interval (${INTERVAL_MS} ms) plus scheduling slack`);
        await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
        assert.equal(leads(other), false, 'still one leader');
      } finally {
        for (const n of nodes) n.child.kill('SIGKILL');
        dir.remove();
      }
    });
  });
}
