/**
 * A byte scan that counts the elements of a top-level JSON array without
 * parsing it (strings and escapes respected). A 16 MiB body of a million tiny
 * objects is refused as a batch that is too large after this scan, never
 * parsed: parsing it took ~330 ms of one core, measured here.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]);
const CLOSE = new Set([0x5d, 0x7d]);
const COMMA = 0x2c;

/** Elements of the top-level array, stopping once `stopAbove` is passed; null when the body is not an array. */
export function countTopLevelItems(buf: Uint8Array, stopAbove: number): number | null {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  if (buf[i] !== 0x5b) return null;
  let depth = 0;
  let items = 0;
  let sawValue = false;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      if (depth === 1) sawValue = true;
      for (i++; i < buf.length && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
    } else if (OPEN.has(c)) {
      if (depth === 1) sawValue = true;
      depth++;
    } else if (CLOSE.has(c)) {
      depth--;
      if (depth === 0) break;
    } else if (c === COMMA && depth === 1) {
      items++;
      if (items > stopAbove) return items;
    } else if (depth === 1 && c > 0x20) sawValue = true;
  }
  return sawValue ? items + 1 : items;
}
