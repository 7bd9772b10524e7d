/**
 * `convert` remembering its last argument and answer, for the time fields of
 * jobs handled in a row: neighbouring jobs share most of their times (the 50
 * jobs of one claim one startedAt, updatedAt and leaseExpiresAt; jobs
 * enqueued together one createdAt and runAt), and a comparison costs a
 * fraction of a Date.parse or a toISOString (0.15 to 0.2 µs each). null and
 * undefined pass through as null. No imports: jobq/client uses it too.
 */
export function memoLast<A, R>(convert: (a: A) => R): (a: A | null | undefined) => R | null {
  let seen = false;
  let lastIn: A | undefined;
  let lastOut: R | null = null;
  return (a) => {
    if (a === null || a === undefined) return null;
    if (!seen || a !== lastIn) {
      lastOut = convert(a);
      lastIn = a;
      seen = true;
    }
    return lastOut;
  };
}
