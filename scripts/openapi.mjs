// Writes the OpenAPI document the server serves at /openapi.json to a file (default dist/openapi.json),
// built from the compiled route schemas without listening: `node scripts/openapi.mjs [out.json]`.
// `npm run lint:openapi` lints it with Redocly (scripts/redocly.yaml); the test suite does too.
import { writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const out = process.argv[2] ?? new URL('dist/openapi.json', root).pathname;
const { Jobq } = await import(new URL('dist/src/core/jobq.js', root).href);
const { MemoryStore } = await import(new URL('dist/src/storage/memory/index.js', root).href);
const { createHttpApp } = await import(new URL('dist/src/http/app.js', root).href);
const jobq = new Jobq({ store: new MemoryStore(), queues: {} });
const app = await createHttpApp({ jobq });
try {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  writeFileSync(out, `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`);
  console.error(`wrote ${out}`);
} finally {
  await app.close();
  await jobq.close();
}
