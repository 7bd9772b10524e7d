/**
 * Issue #8: README's configuration table and the settings table in
 * src/cli/settings.ts agree: every flag, env variable, default and command
 * list appears in the README, and nothing else does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { SETTINGS, SWITCHES, type Scope } from '../../src/cli/settings.js';

const COMMANDS: Record<Scope, string> = {
  http: 'serve',
  workers: 'serve, worker',
  store: 'serve, worker, migrate, prune',
  retention: 'serve, worker, prune',
};

it("README's configuration table lists exactly the settings, with their env variables, defaults and commands", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 5));
  assert.ok(section.length > 0, 'README has a Configuration section');
  const rows = [...section.matchAll(/^\| `(--[a-z-]+)` \| `(JOBQ_[A-Z_]+)` \| (?:`([^`]*)`|—) \| ([a-z, ]+) \|/gm)].map((m) => ({
    flag: m[1]!,
    env: m[2]!,
    default: m[3] ?? null,
    commands: m[4]!,
  }));
  const tableRows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.equal(rows.length, tableRows.length, 'every row of the table has the expected shape');
  const expected = [
    ...Object.values(SETTINGS).map((s) => ({ flag: s.flag.split(' ')[0]!, env: s.env, default: s.default ?? null, commands: COMMANDS[s.scope] })),
    ...Object.values(SWITCHES).map((s) => ({ flag: s.flag, env: s.env, default: s.default, commands: COMMANDS[s.scope] })),
  ];
  const byFlag = (a: { flag: string }, b: { flag: string }) => a.flag.localeCompare(b.flag);
  assert.deepEqual([...rows].sort(byFlag), [...expected].sort(byFlag));
});
