/** A real jobq HTTP server on a loopback port over a real SQLite file. */
import type { FastifyInstance } from 'fastify';
import { demoHandler } from '../../src/core/demo-handler.js';
import type { HandlerMap } from '../../src/core/handler.js';
import { Jobq } from '../../src/core/jobq.js';
import type { JobqOptions } from '../../src/core/options.js';
import { createHttpApp, type HttpAppDeps } from '../../src/http/app.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from './temp-dir.js';

export interface TestServer {
  url: string;
  jobq: Jobq;
  app: FastifyInstance;
  readiness: { ready: boolean };
  close(): Promise<void>;
}

export async function startTestServer(
  opts: { handlers?: HandlerMap; jobq?: Partial<JobqOptions>; http?: Partial<HttpAppDeps>; workers?: boolean } = {},
): Promise<TestServer> {
  const dir = tempDir();
  const store = new SqliteStore({ path: dir.file('jobs.db') });
  const jobq = new Jobq({ store, handlers: { demo: demoHandler, ...opts.handlers }, ...opts.jobq });
  const readiness = { ready: true };
  const app = await createHttpApp({ jobq, readiness, ...opts.http });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  if (opts.workers !== false) jobq.startWorkers();
  return {
    url: address,
    jobq,
    app,
    readiness,
    async close() {
      await app.close();
      await jobq.close(0);
      dir.remove();
    },
  };
}

export interface HttpResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function http(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(url + path, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}
