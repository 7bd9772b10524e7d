/**
 * JSON text may hold integers JavaScript cannot keep: 9007199254740993
 * parses to 9007199254740992 and would be stored silently rounded. Such a
 * body is refused with the path of the number. A float written as such
 * (1e308, 1.5) is kept: it means what it says. The check is a regular
 * expression over the text (no run of 16 digits: nothing to do, the common
 * case) and a small tokenizer only when one appears.
 */
const SIXTEEN_DIGITS = /\d{16}/;
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

interface Frame {
  array: boolean;
  /** Array index, or the object key whose value comes next. */
  key: string | number | null;
}

function render(frames: readonly Frame[], arrayRoot: string): string {
  let out = '';
  frames.forEach((f, depth) => {
    if (f.key === null) return;
    if (typeof f.key === 'number') out += depth === 0 && arrayRoot ? `${arrayRoot}[${f.key}]` : `[${f.key}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(f.key) ? `${out ? '.' : ''}${f.key}` : `[${JSON.stringify(f.key)}]`;
  });
  return out || 'body';
}

/** The path of the first integer literal beyond ±(2^53 − 1), or null. Assumes nothing about validity: a malformed body is left to the parser. */
export function findInexactInteger(text: string, arrayRoot = 'jobs'): string | null {
  if (!SIXTEEN_DIGITS.test(text)) return null;
  const frames: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey && frames.length > 0) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return null;
        }
        frames[frames.length - 1]!.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      frames.push({ array: c === '[', key: c === '[' ? 0 : null });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      const top = frames[frames.length - 1];
      if (top?.array) top.key = (top.key as number) + 1;
      else expectKey = true;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const literal = text.slice(i, j);
      if (/^-?\d{16,}$/.test(literal)) {
        const n = BigInt(literal);
        if (n > MAX || n < -MAX) return render(frames, arrayRoot);
      }
      i = j - 1;
    }
  }
  return null;
}
