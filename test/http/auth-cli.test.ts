/**
 * Issue #13, the `jobq` command: safe by default (no token, no listening on
 * a non-loopback address, in one line, exit 2), --insecure-no-auth,
 * JOBQ_ADMIN_TOKEN, `jobq token create|list|revoke` (the secret printed
 * once, only its hash stored), the client commands' --token, and no secret
 * in any log line, even at trace level.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const jobq = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** A GET on a connection of its own (closed after it), so requests spread over a server's HTTP processes; answers the status. */
function fresh(url: string, path: string, token?: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: u.hostname, port: u.port, path, headers: { connection: 'close', ...(token && bearer(token)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
const ADMIN_A = `a-${'1'.repeat(30)}`;
const ADMIN_B = `b-${'2'.repeat(30)}`;

describe('jobq and API tokens', () => {
  const dir = tempDir();
  const db = dir.file('jobs.db');
  const servers: ServerProcess[] = [];
  const serve = async (args: string[], env: Record<string, string> = {}) => {
    const s = await spawnServer(['--sqlite-path', db, '--queues', 'idle', ...args], { env });
    servers.push(s);
    return s;
  };
  const stop = async (s: ServerProcess) => {
    s.child.kill('SIGTERM');
    await s.exited;
  };
  after(async () => {
    for (const s of servers) s.child.kill('SIGKILL');
    dir.remove();
  });

  it('refuses to listen on a non-loopback address while no token exists: one line, exit 2', () => {
    const r = jobq(['serve', '--host', '0.0.0.0', '--port', '0', '--sqlite-path', db]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^jobq: refusing to listen on 0\.0\.0\.0 without API tokens .*jobq token create --name admin --scopes admin.*JOBQ_ADMIN_TOKEN.*--insecure-no-auth$/);
  });

  it('with several HTTP processes too: refused in one line before any is started, exit 2', () => {
    const r = jobq(['serve', '--http-processes', '2', '--host', '0.0.0.0', '--port', '0', '--sqlite-path', db]);
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^jobq: refusing to listen on 0\.0\.0\.0 without API tokens /);
  });

  it('--insecure-no-auth serves a non-loopback address with no token at all, and says so in its log', async () => {
    const s = await serve(['--host', '0.0.0.0', '--insecure-no-auth', '--log-level', 'warn']);
    assert.equal((await http(s.url, 'GET', '/v1/queues')).status, 200);
    assert.match(s.output(), /API tokens are off \(--insecure-no-auth\)/);
    await stop(s);
  });

  let ci = '';
  it('token create prints the secret once, alone on stdout; the store keeps only its SHA-256; list never shows either', () => {
    const r = jobq(['token', 'create', '--name', 'ci', '--scopes', 'jobs:read,jobs:write', '--queues', 'a,b', '--sqlite-path', db]);
    assert.equal(r.status, 0, r.stderr);
    ci = r.stdout.trim();
    assert.match(ci, /^jobq_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /created token "ci" \(scopes jobs:read,jobs:write; queues a,b\); its secret, below, is shown this once/);
    const file = [db, `${db}-wal`].map((f) => (existsSync(f) ? readFileSync(f).toString('latin1') : '')).join('');
    assert.ok(!file.includes(ci), 'the secret is not in the database');
    assert.ok(file.includes(createHash('sha256').update(ci).digest('hex')), 'its SHA-256 is');
    const list = jobq(['token', 'list', '--sqlite-path', db]);
    assert.match(list.stdout, /^NAME\s+SCOPES\s+QUEUES\s+CREATED\s+LAST USED\n/);
    assert.match(list.stdout, /\nci\s+jobs:read,jobs:write\s+a,b\s/);
    const json = jobq(['token', 'list', '--json', '--sqlite-path', db]);
    const tokens = JSON.parse(json.stdout).tokens;
    assert.deepEqual(Object.keys(tokens[0]).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'queues', 'revokedAt', 'scopes']);
    assert.ok(!json.stdout.includes(ci));
    const bad = jobq(['token', 'create', '--name', 'x', '--scopes', 'jobs:read,root', '--sqlite-path', db]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^jobq: invalid_request: unknown scope "root"; scopes are jobs:read, jobs:write, worker, admin, metrics\n$/);
    const dup = jobq(['token', 'create', '--name', 'ci', '--scopes', 'admin', '--sqlite-path', db]);
    assert.match(dup.stderr, /^jobq: conflict: a token named "ci" exists/);
  });

  it('JOBQ_ADMIN_TOKEN seeds an admin token; a new value replaces the old one; secrets never reach the log, even at trace', async () => {
    const s = await serve(['--log-level', 'trace'], { JOBQ_ADMIN_TOKEN: ADMIN_A });
    assert.equal((await http(s.url, 'GET', '/v1/tokens', undefined, bearer(ADMIN_A))).status, 200);
    const none = await http(s.url, 'GET', '/v1/tokens');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="jobq"');
    assert.equal((await http(s.url, 'GET', '/v1/tokens', undefined, bearer(ci))).status, 403, 'ci lacks admin');
    assert.equal((await http(s.url, 'GET', '/v1/jobs?queue=a', undefined, bearer(ci))).status, 200);
    assert.equal((await http(s.url, 'GET', '/v1/jobs?queue=c', undefined, bearer(ci))).body.error.code, 'forbidden', 'ci is limited to a and b');
    assert.equal((await http(s.url, 'GET', '/v1/jobs', undefined, bearer(`${ci}x`))).status, 401);
    // A job run under the admin token, so the log holds debug lines of its own.
    const { id } = (await http(s.url, 'POST', '/v1/jobs', { type: 'demo', queue: 'idle', payload: { ms: 0 } }, bearer(ADMIN_A))).body;
    await waitFor(async () => (await http(s.url, 'GET', `/v1/jobs/${id}`, undefined, bearer(ADMIN_A))).body.status === 'completed', { what: 'the job' });
    await stop(s);
    assert.ok(!s.output().includes(ADMIN_A) && !s.output().includes(ci) && !s.output().includes(`${ci}x`), 'no secret in the trace log');
    assert.match(s.output(), /"level":20,.*"msg":"job completed"/, 'the log really was at debug level or below');

    const s2 = await serve([], { JOBQ_ADMIN_TOKEN: ADMIN_B });
    assert.equal((await http(s2.url, 'GET', '/v1/tokens', undefined, bearer(ADMIN_A))).status, 401, 'the old secret is revoked');
    const listed = await http(s2.url, 'GET', '/v1/tokens?includeRevoked=true', undefined, bearer(ADMIN_B));
    assert.deepEqual(
      listed.body.tokens.map((t: { name: string; revokedAt: string | null }) => [t.name, t.revokedAt === null]),
      [
        ['JOBQ_ADMIN_TOKEN', true],
        ['ci', true],
      ],
    );
    await stop(s2);
  });

  it('on a non-loopback address with tokens, a request needs one; with every token revoked the server stays locked, never open', async () => {
    const s = await serve(['--host', '0.0.0.0'], { JOBQ_ADMIN_TOKEN: ADMIN_B });
    assert.equal((await http(s.url, 'GET', '/v1/queues')).status, 401);
    for (const name of ['ci', 'JOBQ_ADMIN_TOKEN']) assert.equal(jobq(['token', 'revoke', name, '--sqlite-path', db]).status, 0);
    // Revoked by another process: seen within the server's next read of the tokens (500 ms).
    await waitFor(async () => (await http(s.url, 'GET', '/v1/queues', undefined, bearer(ADMIN_B))).status === 401, { what: 'the revocation to reach the server', timeoutMs: 3000 });
    assert.equal((await http(s.url, 'GET', '/v1/queues')).status, 401, 'no token left, and still locked');
    await stop(s);
  });

  it('the client commands take --token (or JOBQ_TOKEN); token commands work through a server with --url', async () => {
    const s = await serve([], { JOBQ_ADMIN_TOKEN: ADMIN_A });
    const made = jobq(['token', 'create', '--url', s.url, '--token', ADMIN_A, '--name', 'reader', '--scopes', 'jobs:read', '--json']);
    assert.equal(made.status, 0, made.stderr);
    const reader = JSON.parse(made.stdout).secret as string;
    const denied = jobq(['queues', 'list', '--url', s.url]);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /^jobq: unauthorized: this server needs an API token/);
    assert.equal(jobq(['queues', 'list', '--url', s.url, '--token', reader]).status, 0);
    assert.equal(jobq(['queues', 'list', '--url', s.url], { JOBQ_TOKEN: reader }).status, 0);
    const forbidden = jobq(['enqueue', '--type', 't', '--url', s.url], { JOBQ_TOKEN: reader });
    assert.match(forbidden.stderr, /^jobq: forbidden: token "reader" lacks the scope "jobs:write"/);
    const revoked = jobq(['token', 'revoke', 'reader', '--url', s.url, '--token', ADMIN_A]);
    assert.match(revoked.stdout, /revoked token "reader"/);
    assert.equal(jobq(['queues', 'list', '--url', s.url, '--token', reader]).status, 1, 'refused at once on the node that revoked it');
    assert.match(jobq(['token', 'revoke', 'reader', '--sqlite-path', db]).stderr, /^jobq: not_found: no live token named "reader"/);
    await stop(s);
  });

  it('with several HTTP processes: each one needs a token, and a token revoked through one is refused by every one within a second', async () => {
    const own = tempDir();
    const s = await spawnServer(['--sqlite-path', own.file('jobs.db'), '--http-processes', '2'], { env: { JOBQ_ADMIN_TOKEN: ADMIN_A } });
    servers.push(s);
    try {
      // Fresh connections go to the HTTP processes in turn: six reach both.
      const each = async (path: string, token?: string) => {
        const statuses = new Set<number>();
        for (let i = 0; i < 6; i++) statuses.add(await fresh(s.url, path, token));
        return [...statuses];
      };
      assert.deepEqual(await each('/v1/queues'), [401]);
      assert.deepEqual(await each('/v1/queues', ADMIN_A), [200]);
      const made = await http(s.url, 'POST', '/v1/tokens', { name: 'multi', scopes: ['jobs:read'] }, bearer(ADMIN_A));
      assert.equal(made.status, 201);
      const secret = made.body.secret as string;
      // Created in one process: the others read the tokens again on an unknown secret, so it works everywhere at once.
      assert.deepEqual(await each('/v1/queues', secret), [200]);
      const t0 = Date.now();
      assert.equal((await http(s.url, 'POST', '/v1/tokens/multi/revoke', undefined, bearer(ADMIN_A))).status, 200);
      await waitFor(async () => (await each('/v1/queues', secret)).join() === '401', { what: 'every HTTP process to refuse the revoked token', timeoutMs: 3000 });
      const ms = Date.now() - t0;
      assert.ok(ms < 1500, `refused everywhere ${ms} ms after the revocation`);
      await stop(s);
    } finally {
      own.remove();
    }
  });
});
