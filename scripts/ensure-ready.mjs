// Makes a fresh clone runnable with one command: installs dependencies when they are missing or
// stale, and compiles TypeScript when the output is out of date (or always, with --rebuild).
//
//   node scripts/ensure-ready.mjs [--rebuild]          npm test, npm run bench: everything (npm ci),
//                                                       then src, test and bench into dist/
//   node scripts/ensure-ready.mjs --serve [--rebuild]  npm start, npm pack: only what serving needs
//                                                       (npm ci --omit=dev, plus TypeScript on the side
//                                                       to build), then src alone into dist/src
//
// --serve skips the dev-only packages (embedded Postgres binaries, Redocly, the type packages): on a
// fresh clone it is most of the install. A later full run adds them to the same tree.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const serve = process.argv.includes('--serve');
const rebuild = process.argv.includes('--rebuild');
// JOBS=max: node-gyp compiles better-sqlite3's two sources at once (sqlite3.c alone is most of a minute).
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit', env: { JOBS: 'max', ...process.env } });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const say = (msg) => console.error(`jobq: ${msg}`);

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, mtime(join(entry.parentPath ?? entry.path, entry.name)));
  }
  return newest;
}

const modules = join(root, 'node_modules');
const installed = join(modules, '.package-lock.json');
/** Present while node_modules holds the runtime packages only (installed by --serve). */
const serveOnly = join(modules, '.jobq-serve-only');
const stale = !existsSync(installed) || mtime(join(root, 'package-lock.json')) > mtime(installed);

if (stale) {
  if (serve) {
    say('installing what serving needs (npm ci --omit=dev; better-sqlite3 compiles from source, about a minute)…');
    run('npm ci --omit=dev --no-audit --no-fund');
    writeFileSync(serveOnly, 'installed by scripts/ensure-ready.mjs --serve: no dev dependencies\n');
  } else {
    say('installing dependencies (npm ci; better-sqlite3 compiles from source, about a minute)…');
    run('npm ci --no-audit --no-fund');
  }
} else if (!serve && existsSync(serveOnly)) {
  say('adding the dev dependencies to what npm start installed…');
  run('npm install --no-save --include=dev --no-audit --no-fund');
  rmSync(serveOnly, { force: true });
}

/** The TypeScript compiler: the dev dependency when installed, else the same version installed on the side. */
function typescriptCompiler() {
  const local = join(modules, 'typescript', 'bin', 'tsc');
  if (existsSync(local)) return local;
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.typescript;
  const prefix = join(modules, '.jobq-build');
  const tsc = join(prefix, 'node_modules', 'typescript', 'bin', 'tsc');
  const want = join(prefix, 'node_modules', 'typescript', 'package.json');
  if (!existsSync(want) || JSON.parse(readFileSync(want, 'utf8')).version !== version) {
    say(`installing typescript@${version} to build (it is a dev dependency)…`);
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `typescript@${version}`], { cwd: root, stdio: 'inherit' });
  }
  return tsc;
}

if (serve) {
  const built = join(root, 'dist', 'src', 'cli', 'main.js');
  if (rebuild || newestIn('src') > mtime(built)) {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-package.mjs')], { cwd: root, stdio: 'inherit', env: { ...process.env, JOBQ_TSC: typescriptCompiler() } });
  }
} else {
  const buildInfo = join(root, 'dist', '.tsbuildinfo');
  const outdated = ['src', 'test', 'bench'].some((d) => existsSync(join(root, d)) && newestIn(d) > mtime(buildInfo));
  if (rebuild || outdated) run('npx tsc -p tsconfig.json');
}
