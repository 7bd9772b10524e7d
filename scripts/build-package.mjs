// The package's build: dist/src from src alone, from clean (a module removed from src must not linger in
// the tarball), without tests, benchmarks or source maps. Run by `npm pack` (prepack) and by `npm start`.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// JOBQ_TSC: the compiler ensure-ready.mjs --serve installed on the side (no dev dependencies there).
const tsc = process.env.JOBQ_TSC ?? createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
rmSync(join(root, 'dist', 'src'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'scripts', 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
} catch (err) {
  // The full build is incremental: make it start over rather than trust outputs this one removed.
  rmSync(join(root, 'dist', '.tsbuildinfo'), { force: true });
  throw err;
}
// The full build's incremental state described the dist/src removed above: it starts over next time.
if (existsSync(join(root, 'dist', '.tsbuildinfo'))) rmSync(join(root, 'dist', '.tsbuildinfo'));
