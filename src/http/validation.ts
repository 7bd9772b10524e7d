/**
 * Request validation: two Ajv instances and one error formatter.
 *
 * Bodies are strict (no type coercion, unknown fields refused); query strings
 * and path parameters arrive as text, so their validator coerces "50" to 50
 * and the schemas (and the OpenAPI document) can say `integer`.
 *
 * The formatter turns Ajv's first error into a sentence that names the field
 * and its rule (`priority must be an integer from -1000000 to 1000000`,
 * `unknown field "data"`), never Ajv's own wording. It runs only on a bad
 * request: valid requests pay nothing for it.
 */
import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { JobqError } from '../contracts/errors.js';
import { JOB_STATUSES } from '../contracts/job.js';
import { MAX_DELAY_MS, MAX_KEY_LENGTH, MAX_RUN_AT_MS } from '../core/enqueue-input.js';
import { DEFAULTS, MAX_ATTEMPTS_LIMIT, PRIORITY_RANGE } from '../core/options.js';

const NAME_RULE = 'must be 1 to 128 letters, digits, "_", ".", ":" or "-", starting with a letter or a digit';

/** The rule of each field, by name; names are unique across the API's schemas. */
const RULES: Readonly<Record<string, string>> = {
  type: NAME_RULE,
  queue: NAME_RULE,
  name: NAME_RULE,
  priority: `must be an integer from ${PRIORITY_RANGE.min} to ${PRIORITY_RANGE.max}`,
  maxAttempts: `must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}`,
  timeoutMs: `must be null or an integer from 1 to ${MAX_DELAY_MS}`,
  delayMs: `must be an integer from 0 to ${MAX_DELAY_MS}`,
  runAt: `must be an ISO 8601 date-time or epoch milliseconds from 0 to ${MAX_RUN_AT_MS}`,
  id: 'must be a job id (a UUID)',
  limit: `must be an integer from 1 to ${DEFAULTS.limits.maxPageSize}`,
  status: `must be one of ${JOB_STATUSES.join(', ')}`,
  include: 'must be payload, result or payload,result',
  cursor: 'must be the nextCursor of a previous page (at most 512 characters)',
  key: `must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
  createdAfter: 'must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z',
  createdBefore: 'must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z',
  completed: `must be null (forever) or milliseconds from 1 to ${MAX_DELAY_MS}`,
  failed: `must be null (forever) or milliseconds from 1 to ${MAX_DELAY_MS}`,
  cancelled: `must be null (forever) or milliseconds from 1 to ${MAX_DELAY_MS}`,
  // The lease protocol and tokens (issue #13).
  max: 'must be an integer from 1 to 100',
  leaseMs: 'must be an integer from 1000 to 3600000',
  waitMs: 'must be an integer from 0 to 30000',
  types: 'must be a list of 1 to 1000 job type names',
  leaseToken: 'must be the leaseToken the claim answered (a UUID)',
  progress: 'must be a number',
  retryable: 'must be true or false',
  retryAfterMs: `must be an integer from 0 to ${MAX_DELAY_MS}`,
  error: 'must be an object { message, stack? }',
  message: 'must be a string of at most 65536 characters',
  stack: 'must be a string of at most 262144 characters',
  leases: 'must be a list of 1 to 1000 { id, leaseToken }',
  finishes: 'must be a list of 1 to 1000 { id, leaseToken, outcome, … }',
  outcome: 'must be completed, failed or released',
  scopes: 'must be a list of scopes: jobs:read, jobs:write, worker, admin, metrics',
  includeRevoked: 'must be true or false',
  workerId: NAME_RULE,
  rateLimited: 'must be an object { retryAfterMs, scope? }',
};

/** `/1/priority` in a body → `jobs[1].priority`; `/priority` → `priority`. */
function fieldOf(instancePath: string, dataVar: string): string {
  const parts = instancePath.split('/').slice(1);
  if (parts.length === 0) return '';
  let out = '';
  for (const [i, p] of parts.entries()) {
    if (/^\d+$/.test(p)) out += i === 0 && dataVar === 'body' ? `jobs[${p}]` : `[${p}]`;
    else out += out ? `.${p}` : p;
  }
  return out;
}

const lastName = (field: string) => /([A-Za-z_]+)$/.exec(field)?.[1] ?? '';

/**
 * A body that is one job or an array of jobs fails both branches of its oneOf.
 * Keep the errors of the branch whose type the body has: the other branch
 * failed at its top-level `type`.
 */
function branchErrors(errors: readonly ErrorObject[]): readonly ErrorObject[] {
  const wrongType = (branch: string) => errors.some((e) => e.keyword === 'type' && e.instancePath === '' && e.schemaPath === `${branch}/type`);
  for (const [branch, other] of [['#/oneOf/0', '#/oneOf/1'], ['#/oneOf/1', '#/oneOf/0']] as const) {
    if (wrongType(other) && !wrongType(branch)) return errors.filter((e) => e.schemaPath.startsWith(`${branch}/`));
  }
  return errors;
}

function sentence(e: ErrorObject, dataVar: string): { message: string; field: string } {
  const field = fieldOf(e.instancePath, dataVar);
  const where = (inner: string) => (field ? `${field}.${inner}` : inner);
  const container = field ? ` (in ${field})` : '';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      return { field: where(extra), message: dataVar === 'querystring' ? `unknown query parameter "${extra}"` : `unknown field "${extra}"${container}` };
    }
    case 'required': {
      const missing = String(p.missingProperty);
      return { field: where(missing), message: `${where(missing)} is required` };
    }
    case 'not':
      // The only `not` in our schemas: runAt and delayMs say the same thing two ways.
      return { field: where('runAt'), message: `runAt and delayMs are mutually exclusive${container}` };
    case 'minItems':
      return { field: field || 'body', message: 'a batch must hold at least one job' };
  }
  const rule = RULES[lastName(field)];
  if (field && rule) return { field, message: `${field} ${rule}` };
  if (!field && dataVar === 'body') {
    return { field: 'body', message: e.schemaPath.startsWith('#/oneOf/') ? 'body must be a JSON object (one job) or a JSON array of jobs' : 'body must be a JSON object' };
  }
  if (/^\[\d+\]$|^jobs\[\d+\]$/.test(field)) return { field, message: `${field} must be a JSON object (a job)` };
  return { field: field || dataVar, message: `${field || dataVar} ${e.message ?? 'is invalid'}` };
}

/** Fastify's schemaErrorFormatter: our code, field and sentence (Fastify keeps a `code` the error already has). */
export function formatValidationError(errors: ErrorObject[], dataVar: string): JobqError {
  const relevant = branchErrors(errors);
  // The deepest error names the field that is really wrong (a oneOf/anyOf wrapper says less).
  const best = relevant.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf').reduce<ErrorObject | undefined>(
    (a, b) => (a === undefined || b.instancePath.length > a.instancePath.length ? b : a),
    undefined,
  ) ?? relevant[0]!;
  const { message, field } = sentence(best, dataVar);
  return new JobqError('invalid_request', message, { details: { field } });
}

const common: Options = { removeAdditional: false, useDefaults: false, allErrors: false, allowUnionTypes: true, strict: false };

function withFormats(ajv: Ajv): Ajv {
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

/** Bodies: exact types, nothing coerced. */
const bodyAjv = withFormats(new Ajv({ ...common, coerceTypes: false }));
/** Query strings and path parameters: text, coerced to the schema's types. */
const textAjv = withFormats(new Ajv({ ...common, coerceTypes: true }));

/** Decimal digits only: Ajv alone would also coerce "1e2", "0x10" and " 5". */
const DECIMAL = /^-?\d{1,16}$/;

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** Query strings and path parameters: integers must be written as plain decimal digits before Ajv coerces them. */
function textValidator(schema: { properties?: Record<string, { type?: unknown }> }): Validate {
  const validate = textAjv.compile(schema);
  const integers = Object.entries(schema.properties ?? {})
    .filter(([, s]) => s.type === 'integer')
    .map(([k]) => k);
  if (integers.length === 0) return validate;
  const wrapped: Validate = (data) => {
    const o = data as Record<string, unknown> | null;
    for (const k of integers) {
      const v = o?.[k];
      // Not a number at all for Ajv: the type check fails and names the field's rule.
      if (typeof v === 'string' && !DECIMAL.test(v)) o![k] = [v];
    }
    const ok = validate(data);
    wrapped.errors = validate.errors;
    return ok;
  };
  return wrapped;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const compiled = httpPart === 'querystring' || httpPart === 'params' ? textValidator(schema as object) : bodyAjv.compile(schema as object);
  return compiled as ReturnType<FastifySchemaCompiler<unknown>>;
};
