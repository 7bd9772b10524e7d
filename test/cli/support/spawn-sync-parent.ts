/**
 * The parent of issue #9's report: starts `jobq serve` with spawnSync and a
 * timeout, the way a script or a test runner might, and prints how it ended.
 * spawnSync stops reading the child's stdout when the timeout kills it.
 * Usage: node spawn-sync-parent.js <cli> <port> <timeoutMs>
 */
import { spawnSync } from 'node:child_process';

const [cli, port, timeoutMs] = process.argv.slice(2) as [string, string, string];
const t0 = Date.now();
const r = spawnSync(process.execPath, [cli, 'serve', '--port', port, '--store', 'memory', '--log-level', 'debug'], { timeout: Number(timeoutMs) });
process.stdout.write(`${JSON.stringify({ elapsedMs: Date.now() - t0, status: r.status, signal: r.signal, error: (r.error as NodeJS.ErrnoException | undefined)?.code ?? null })}\n`);
