/** docs/errors.md and the code agree: every code documented once, with the status the server really uses. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { ERROR_CODES } from '../../src/contracts/errors.js';
import { HTTP_STATUS } from '../../src/http/error-mapping.js';

it('docs/errors.md lists every error code with its HTTP status', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...rows.keys()].sort(), [...ERROR_CODES].sort());
  for (const code of ERROR_CODES) assert.equal(rows.get(code), HTTP_STATUS[code], `status of ${code}`);
});
