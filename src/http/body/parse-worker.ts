/**
 * The worker thread that parses large JSON bodies, so the event loop never
 * spends hundreds of milliseconds inside JSON.parse (heartbeats and other
 * requests would wait). It decodes strict UTF-8, refuses prototype-polluting
 * keys, checks each raw field's shape (depth, exact numbers), and hands the
 * raw fields back as JSON text: the main thread stores them as they are.
 */
import { parentPort } from 'node:worker_threads';
import sjson from 'secure-json-parse';
import { isJobqError } from '../../contracts/errors.js';
import { checkJsonShape } from '../../core/json-shape.js';
import { findInexactInteger } from './exact-numbers.js';
import { countTopLevelItems } from './scan.js';

export interface ParseRequest {
  id: number;
  body: Uint8Array;
  /** Fields of each object (top level or array item) to return as JSON text. */
  rawFields: readonly string[];
  maxItems: number;
}

export type ParseReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: string; message: string; details?: Record<string, unknown> };

export function inexactError(path: string) {
  return {
    code: 'invalid_request',
    message: `${path} is an integer beyond ±(2^53 − 1), which JSON numbers cannot keep exactly; send it as a string`,
    details: { field: path },
  };
}

/** Where a raw field's text goes in the reply (rebuilt as a JsonText on the main thread). */
export const RAW_MARK = '$jobqRawJson';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function rawify(obj: unknown, rawFields: readonly string[], where: string): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return;
  const o = obj as Record<string, unknown>;
  for (const f of rawFields) {
    if (!Object.hasOwn(o, f)) continue;
    checkJsonShape(o[f], `${where}${f}`);
    o[f] = { [RAW_MARK]: JSON.stringify(o[f]) };
  }
}

function parse(req: ParseRequest): ParseReply {
  const { id } = req;
  const n = countTopLevelItems(req.body, req.maxItems);
  if (n !== null && n > req.maxItems) {
    return { id, ok: false, code: 'batch_too_large', message: `a batch holds at most ${req.maxItems} jobs; got ${n} or more`, details: { limit: req.maxItems } };
  }
  let text: string;
  try {
    text = utf8.decode(req.body);
  } catch {
    return { id, ok: false, code: 'invalid_json', message: 'body is not valid UTF-8' };
  }
  if (text.trim() === '') return { id, ok: true, value: undefined };
  const inexact = findInexactInteger(text);
  if (inexact) return { id, ok: false, ...inexactError(inexact) };
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return { id, ok: false, code: 'invalid_json', message: 'body is not valid JSON, or it uses a forbidden key (__proto__, constructor.prototype)' };
  }
  try {
    if (Array.isArray(value)) value.forEach((item, i) => rawify(item, req.rawFields, `jobs[${i}].`));
    else rawify(value, req.rawFields, '');
  } catch (err) {
    if (isJobqError(err)) return { id, ok: false, code: err.code, message: err.message, ...(err.details && { details: err.details }) };
    return { id, ok: false, code: 'invalid_request', message: 'body could not be read' };
  }
  return { id, ok: true, value };
}

parentPort?.on('message', (req: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = parse(req);
  } catch {
    reply = { id: req.id, ok: false, code: 'invalid_request', message: 'body could not be read' };
  }
  parentPort!.postMessage(reply);
});
