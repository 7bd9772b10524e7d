/**
 * The `pg` driver's classes, loaded without Node's fetch. On Node 20, which
 * has no global `navigator`, pg's check for Cloudflare Workers builds a
 * `Response`, and that loads undici, Node's fetch implementation, into every
 * process that talks to Postgres: 5.4 MB more resident memory at import,
 * measured, for a check that cannot succeed here. A `navigator` that exists
 * only while pg loads answers the check at its first test. Everything that
 * creates pools or clients takes them from here.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';

function load(): typeof pg {
  const require = createRequire(import.meta.url);
  if ('navigator' in globalThis) return require('pg') as typeof pg;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Node.js' }, configurable: true, writable: true });
  try {
    return require('pg') as typeof pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

const driver = load();
export const Pool: typeof pg.Pool = driver.Pool;
export const Client: typeof pg.Client = driver.Client;
export const types: typeof pg.types = driver.types;
