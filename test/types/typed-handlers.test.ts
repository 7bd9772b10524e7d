/**
 * Issue #9, item 7: typed handlers end to end, proven by the TypeScript
 * compiler. Every fixture under test/types/fixtures must compile (tsc's own
 * rule makes each `// @ts-expect-error` line an assertion that the line does
 * not compile), and in each `*-errors.ts` fixture every marked line must fail
 * on its own: with the marks taken out, tsc reports an error on each of those
 * lines and on no other.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'types', 'fixtures/');

/** The project's own compiler options (strict, NodeNext, its lib), without emitting. */
function projectOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, incremental: false, declaration: false, sourceMap: false };
}
const OPTIONS = projectOptions();

/** Type-checks `files`, with `override` standing in for the text of some of them; the diagnostics by file and line (1-based). */
function check(files: string[], override: Map<string, string> = new Map()): { file: string; line: number; text: string }[] {
  const host = ts.createCompilerHost(OPTIONS);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError, create) => {
    const text = override.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, version) : read(name, version, onError, create);
  };
  const program = ts.createProgram(files, OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ({
    file: d.file?.fileName ?? '',
    line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
    text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
}

const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(FIXTURES, f));

describe('typed handlers and enqueues (tsc on test/types/fixtures)', () => {
  it('has fixtures that must compile and fixtures that must fail', () => {
    assert.ok(fixtures.some((f) => f.endsWith('-errors.ts')));
    assert.ok(fixtures.some((f) => !f.endsWith('-errors.ts')));
  });

  it('every fixture compiles, every @ts-expect-error meeting its error', () => {
    const diagnostics = check(fixtures);
    assert.deepEqual(diagnostics.map((d) => `${d.file}:${d.line}: ${d.text}`), []);
  });

  for (const file of fixtures.filter((f) => f.endsWith('-errors.ts'))) {
    it(`${file.slice(FIXTURES.length)}: each marked line fails on its own`, () => {
      const lines = readFileSync(file, 'utf8').split('\n');
      const marked: number[] = [];
      // Blank out each mark (keeping line numbers); the line after it is the one expected to fail.
      const stripped = lines.map((l, i) => {
        if (!/^\s*\/\/ @ts-expect-error/.test(l)) return l;
        marked.push(i + 2);
        return '';
      });
      assert.ok(marked.length >= 3, 'at least three mistakes are checked');
      const byLine = new Map<number, string[]>();
      for (const d of check([file], new Map([[file, stripped.join('\n')]]))) {
        assert.equal(d.file, file, `an error outside the fixture: ${d.file}:${d.line}: ${d.text}`);
        byLine.set(d.line, [...(byLine.get(d.line) ?? []), d.text]);
      }
      for (const line of marked) assert.ok(byLine.has(line), `line ${line} (${lines[line - 1]!.trim()}) does not fail to compile`);
      assert.deepEqual([...byLine.keys()].filter((l) => !marked.includes(l)), [], 'errors only on the marked lines');
    });
  }
});
