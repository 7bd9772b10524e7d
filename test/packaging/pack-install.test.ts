/**
 * Issue #9, item 6: the package as a user gets it. One test, slow on purpose
 * (about a minute and a half, most of it compiling better-sqlite3 from source
 * in the install, as a user's machine does):
 *   1. `npm pack` in a fresh clone of this repository (its committed HEAD) builds first (prepack)
 *      and ships dist/src, README.md, LICENSE and docs/, and nothing else;
 *   2. `npm install <tarball>` into an empty folder, then `jobq serve --port 0` from there serves
 *      and runs a job;
 *   3. a consumer project with `skipLibCheck: false` compiles against the installed types with
 *      only @types/node besides: none of our dev-only type packages, no `pg` (an optional peer).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { http } from '../helpers/http-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

/** The project's .npmrc settings (nodedir: better-sqlite3 compiles against the installed Node headers). */
function projectNpmConfig(): Record<string, string> {
  const env: Record<string, string> = {};
  const rc = join(ROOT, '.npmrc');
  if (!existsSync(rc)) return env;
  for (const line of readFileSync(rc, 'utf8').split('\n')) {
    const m = /^\s*([a-z-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) env[`npm_config_${m[1]!.replace(/-/g, '_')}`] = m[2]!;
  }
  return env;
}

it('npm pack builds and ships only dist/src, README, LICENSE and docs; the tarball installs, serves, and type-checks with skipLibCheck: false', { timeout: 900_000 }, async () => {
  const work = tempDir('jobq-pack-');
  try {
    // 1. A fresh clone, sharing this checkout's installed packages (its lock file made older
    //    than them, so the prepack's ensure-ready does not reinstall).
    const clone = join(work.path, 'clone');
    await exec('git', ['clone', '--quiet', ROOT, clone]);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    utimesSync(join(clone, 'package-lock.json'), 0, 0);
    assert.ok(!existsSync(join(clone, 'dist')), 'a fresh clone has no build');
    const packed = await exec('npm', ['pack', '--pack-destination', work.path, '--json'], { cwd: clone, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts') && files.includes('dist/src/cli/main.js'), 'built before packing');
    for (const f of ['README.md', 'LICENSE', 'package.json', 'docs/errors.md']) assert.ok(files.includes(f), `ships ${f}`);
    // The dashboard's static files ship as they are (no build step): src/dashboard/ui only.
    const unexpected = files.filter((f) => !/^(dist\/src\/.*\.(js|d\.ts)|src\/dashboard\/ui\/[\w.-]+\.(html|css|js|svg)|README\.md|LICENSE|package\.json|docs\/.*\.md)$/.test(f));
    assert.deepEqual(unexpected, [], 'nothing but the build, the dashboard, README, LICENSE and docs (no tests, benchmarks, sources, maps or screenshots)');

    // 2. Install the tarball into an empty folder and serve from there.
    const app = join(work.path, 'app');
    await exec('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work.path, info.filename), `@types/node@${pkg.devDependencies['@types/node']}`], {
      cwd: app,
      env: { ...process.env, ...projectNpmConfig(), JOBS: 'max' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const installed = readdirSync(join(app, 'node_modules'));
    assert.ok(!installed.includes('pg'), 'pg is an optional peer: not installed');
    assert.deepEqual(readdirSync(join(app, 'node_modules', '@types')).sort(), ['node'], 'no dev-only type package came along');
    const jobqBin = join(app, 'node_modules', '.bin', 'jobq');
    assert.equal((await exec(jobqBin, ['--version'], { cwd: app })).stdout.trim(), pkg.version);

    const child = spawn(jobqBin, ['serve', '--port', '0', '--sqlite-path', join(app, 'jobs.db')], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(() => /\{"listening":"([^"]+)"\}/.exec(out)?.[1], { timeoutMs: 20_000, what: `the installed jobq to listen:\n${out}` });
      const job = await http(url, 'POST', '/enqueue', { payload: { ms: 5 } });
      assert.equal(job.status, 200, job.text);
      await waitFor(async () => (await http(url, 'GET', `/status/${job.body.id}`)).body.status === 'completed', { what: 'the job to complete' });
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      child.kill('SIGKILL');
    }

    // 3. A consumer's TypeScript against the installed declarations, library checks on.
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { Jobq, PermanentJobError, type Handler, type Job } from 'jobq';
import { JobqClient, type JobJson } from 'jobq/client';
import { createHttpApp } from 'jobq/http';
import { MemoryStore } from 'jobq/memory';
import { SqliteStore } from 'jobq/sqlite';

interface EmailPayload { to: string }
const email: Handler<EmailPayload> = async (job: Job<EmailPayload>) => {
  if (!job.payload.to.includes('@')) throw new PermanentJobError('no address');
  return { sent: job.payload.to };
};
export async function main(): Promise<JobJson<EmailPayload>> {
  const jobq = new Jobq({ store: new SqliteStore({ path: 'jobs.db' }), handlers: { email } });
  const memory = new Jobq({ store: new MemoryStore() });
  const app = await createHttpApp({ jobq });
  await jobq.enqueue({ type: 'email', payload: { to: 'a@example.com' } });
  const client = new JobqClient<{ email: EmailPayload }>({ url: 'http://127.0.0.1:8080' });
  const job = await client.enqueue({ type: 'email', payload: { to: 'b@example.com' } });
  await app.close();
  await Promise.all([jobq.close(), memory.close()]);
  return job;
}
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    await exec(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app }).catch(
      (err: { stdout: string; stderr: string }) => assert.fail(`the consumer does not compile against the installed types:\n${err.stdout}${err.stderr}`),
    );
  } finally {
    work.remove();
  }
});
