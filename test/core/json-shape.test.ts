/** What a stored JSON value may look like (core/json-shape.ts): flat values pass without a walk, bad ones are named by their path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobqError } from '../../src/contracts/errors.js';
import { checkJsonShape, MAX_PAYLOAD_DEPTH } from '../../src/core/json-shape.js';

const refusal = (value: unknown, field: string, index?: number): string | null => {
  try {
    checkJsonShape(value, field, index);
    return null;
  } catch (err) {
    assert.ok(err instanceof JobqError && err.code === 'invalid_request');
    return `${err.details?.field as string}: ${err.message}`;
  }
};

test('flat and nested values JSON can carry pass', () => {
  for (const v of [null, 1, 'x', true, { a: 1, b: 'two', c: null }, [1, 'a', false], { a: { b: [1, { c: 2 }] } }, []]) assert.equal(refusal(v, 'payload'), null, JSON.stringify(v));
});

test('a number JSON cannot carry is named by its path, flat or nested, alone or in a batch', () => {
  assert.equal(refusal(Infinity, 'payload'), 'payload: payload holds a number outside what JSON can represent');
  assert.equal(refusal({ a: 1, b: NaN }, 'payload', 3), 'jobs[3].payload.b: jobs[3].payload.b holds a number outside what JSON can represent');
  assert.equal(refusal([1, -Infinity], 'payload'), 'payload[1]: payload[1] holds a number outside what JSON can represent');
  assert.equal(refusal({ x: { 'a b': [0, Infinity] } }, 'result'), 'result.x["a b"][1]: result.x["a b"][1] holds a number outside what JSON can represent');
});

test('nesting deeper than the limit is refused, one level less passes', () => {
  const nest = (d: number): unknown => (d === 1 ? 1 : { n: nest(d - 1) });
  assert.equal(refusal(nest(MAX_PAYLOAD_DEPTH), 'payload'), null);
  assert.match(refusal(nest(MAX_PAYLOAD_DEPTH + 2), 'payload', 0) ?? '', /^jobs\[0\]\.payload(\.n)+: .* nests deeper than 64 levels$/);
});
