// Makes a fresh clone runnable with one command: installs dependencies when
// they are missing or stale, and compiles TypeScript when dist/ is out of date
// (or always, with --rebuild). Used by `npm start`, `npm test` and `npm run bench`.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, mtime(join(entry.parentPath ?? entry.path, entry.name)));
  }
  return newest;
}

const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || mtime(join(root, 'package-lock.json')) > mtime(installed)) {
  console.error('jobq: installing dependencies (npm ci; better-sqlite3 compiles from source, about a minute)…');
  run('npm ci --no-audit --no-fund');
}

const buildInfo = join(root, 'dist', '.tsbuildinfo');
const stale = ['src', 'test', 'bench'].some((d) => existsSync(join(root, d)) && newestIn(d) > mtime(buildInfo));
if (process.argv.includes('--rebuild') || stale) {
  run('npx tsc -p tsconfig.json');
}
