/**
 * What a stored JSON value may look like: nested at most MAX_PAYLOAD_DEPTH
 * levels, numbers finite and exact. Checked without recursion, so a hostile
 * value cannot overflow the stack; errors name the path of the bad value.
 */
import { JobqError } from '../contracts/errors.js';

function bad(path: string, message: string): JobqError {
  return new JobqError('invalid_request', `${path} ${message}`, { details: { field: path } });
}

/** Deepest nesting a payload (or result) may have; deeper ones overflow the stack of JSON.stringify long before they are useful. */
export const MAX_PAYLOAD_DEPTH = 64;

interface Walk {
  value: unknown;
  depth: number;
  parent: Walk | null;
  key: string | number | null;
}

function pathOf(w: Walk, root: string): string {
  let out = '';
  for (let at: Walk | null = w; at && at.key !== null; at = at.parent) {
    out = typeof at.key === 'number' ? `[${at.key}]${out}` : /^[A-Za-z_$][\w$]*$/.test(at.key) ? `.${at.key}${out}` : `[${JSON.stringify(at.key)}]${out}`;
  }
  return `${root}${out}`;
}

/** A value JSON carries as is: not an object, and not a number JSON cannot represent. */
function fine(v: unknown): boolean {
  return typeof v === 'number' ? Number.isFinite(v) : typeof v !== 'object' || v === null;
}

/** A fine primitive, or an object or array holding only fine primitives (depth 2 at most). */
function isFlat(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return fine(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!fine(v[i])) return false;
    return true;
  }
  for (const k in v) if (!fine((v as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * Walks the payload without recursion: refuses nesting deeper than
 * MAX_PAYLOAD_DEPTH and numbers JSON cannot carry (1e400 parses to Infinity,
 * which would be stored as null: not what was sent). The error names the
 * path: `field`, under `jobs[index].` for an entry of a batch. (Integers
 * beyond 2^53 in JSON text are caught by the HTTP layer, which still sees
 * the text: see http/body/exact-numbers.ts.)
 */
export function checkJsonShape(value0: unknown, field: string, index?: number): void {
  // The common payload, a flat object or array of fine primitives, needs no walk (and no path).
  if (isFlat(value0)) return;
  const root = index === undefined ? field : `jobs[${index}].${field}`;
  const stack: Walk[] = [{ value: value0, depth: 1, parent: null, key: null }];
  while (stack.length > 0) {
    const w = stack.pop()!;
    const value = w.value;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw bad(pathOf(w, root), 'holds a number outside what JSON can represent');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (w.depth > MAX_PAYLOAD_DEPTH) throw bad(pathOf(w, root), `nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) stack.push({ value: value[i], depth: w.depth + 1, parent: w, key: i });
    else for (const k in value) stack.push({ value: (value as Record<string, unknown>)[k], depth: w.depth + 1, parent: w, key: k });
  }
}

