/**
 * The dashboard's files (src/dashboard/ui: plain HTML, CSS and JavaScript, no
 * build step, nothing fetched from elsewhere), read once and compressed once
 * (gzip and brotli) when the app is built. They ship in the package as
 * src/dashboard/ui (package.json "files").
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** dist/src/dashboard/assets.js and src/dashboard/assets.ts both find the folder three levels up. */
export const UI_DIR = new URL('../../../src/dashboard/ui/', import.meta.url);

export async function dashboardAssets(dir: URL = UI_DIR): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  for (const name of (await readdir(dir)).sort()) {
    const ext = name.split('.').pop() ?? '';
    const type = TYPES[ext];
    if (!type) continue;
    const raw = await readFile(new URL(name, dir));
    out.set(name, {
      type,
      raw,
      gzip: gzipSync(raw, { level: 9 }),
      br: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`,
    });
  }
  if (!out.has('index.html')) throw new Error(`the dashboard's files are missing from ${dir.pathname}`);
  return out;
}
