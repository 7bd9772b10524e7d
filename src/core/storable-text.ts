/**
 * Text that every backend can store: no U+0000 (Postgres text and jsonb refuse
 * it, and one such row used to fail a whole batch of finishes), no lone
 * surrogates (jsonb refuses their \uD800 escapes), and cut to a length on a
 * code-point boundary, never between the two halves of a surrogate pair.
 */
export function storableText(text: string, maxChars: number): string {
  // eslint-disable-next-line no-control-regex
  let out = text.includes('\u0000') ? text.replace(/\u0000/g, '\uFFFD') : text;
  if (out.length > maxChars) {
    let end = maxChars;
    const last = out.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose partner would be cut off
    out = out.slice(0, end);
  }
  return out.toWellFormed();
}
