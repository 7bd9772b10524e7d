/**
 * Issue #7, item 15: payloads round-trip as JSON values, and the docs say
 * exactly what that means. Compared as raw response TEXT, not parsed values:
 * -0 comes back as 0, integer-like keys come first in ascending order
 * (JavaScript object order), a duplicate key keeps its last value (at the
 * place of its first); everything else comes back byte for byte.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { makeBackend } from '../chaos/backends.js';
import { http } from '../helpers/http-server.js';
import { stopSharedCluster } from '../helpers/postgres.js';
import { spawnServer } from '../helpers/spawn-server.js';

after(stopSharedCluster);

/** The text of the value of `"field":` at the top level of a JSON object text. */
function fieldText(json: string, field: string): string {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      if (depth === 1 && json.startsWith(`"${field}":`, i)) return valueAt(json, i + field.length + 3);
      inString = true;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  throw new Error(`no top-level "${field}" in ${json.slice(0, 200)}`);
}

function valueAt(json: string, start: number): string {
  let depth = 0;
  let inString = false;
  for (let i = start; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return json.slice(start, i + 1);
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return json.slice(start, i + 1);
    } else if (depth === 0 && (c === ',' || c === '}')) return json.slice(start, i);
  }
  return json.slice(start);
}

/** [sent payload text, the text that must come back]. Written out by hand: nothing is computed with JSON.parse. */
const CASES: [string, string, string][] = [
  ['-0 becomes 0', '{"a":-0,"b":[-0,0,-0.0]}', '{"a":0,"b":[0,0,0]}'],
  ['integer-like keys first, ascending', '{"b":1,"10":"ten","a":2,"2":"two","01":"not an index","-1":"neither"}', '{"2":"two","10":"ten","b":1,"a":2,"01":"not an index","-1":"neither"}'],
  ['a duplicate key keeps its last value at its first place', '{"x":1,"y":2,"x":3}', '{"x":3,"y":2}'],
  ['strings with NUL, emoji, line separators, quotes', '{"s":"nul\\u0000 emoji \u{1F389} ls\u2028ps\u2029 \\"q\\" \\\\ tab\\t"}', '{"s":"nul\\u0000 emoji \u{1F389} ls\u2028ps\u2029 \\"q\\" \\\\ tab\\t"}'],
  ['2^53-1 and friends', '[9007199254740991,-9007199254740991,1.5,1e+308,5e-324,0.1]', '[9007199254740991,-9007199254740991,1.5,1e+308,5e-324,0.1]'],
  ['nesting and key order of non-integer keys', '{"z":{"y":{"x":[{"w":null,"v":true,"u":false}]}},"k20":1,"k3":2,"k1":3}', '{"z":{"y":{"x":[{"w":null,"v":true,"u":false}]}},"k20":1,"k3":2,"k1":3}'],
  ['a plain string', '"just text"', '"just text"'],
  ['null', 'null', 'null'],
];

for (const backendName of ['sqlite', 'postgres', 'memory'] as const) {
  it(`${backendName}: payloads come back as the docs say, compared as response text`, async () => {
    const b = backendName === 'memory' ? null : await makeBackend(backendName);
    const srv = await spawnServer([...(b ? b.args : ['--store', 'memory']), '--queues', 'idle']);
    try {
      const wrong: string[] = [];
      for (const [name, sent, expected] of CASES) {
        const res = await http(srv.url, 'POST', '/v1/jobs', `{"type":"noop","queue":"idle","payload":${sent}}`);
        assert.equal(res.status, 201, `${name}: ${res.text.slice(0, 200)}`);
        for (const [where, text] of [
          ['POST answer', res.text],
          ['GET /v1/jobs/{id}', (await http(srv.url, 'GET', `/v1/jobs/${res.body.id}`)).text],
        ] as const) {
          const got = fieldText(text, 'payload');
          if (got !== expected) wrong.push(`${name} (${where}): sent ${sent}, got ${got}, expected ${expected}`);
        }
      }
      assert.deepEqual(wrong, []);
    } finally {
      srv.child.kill('SIGKILL');
      b?.cleanup();
    }
  });
}
