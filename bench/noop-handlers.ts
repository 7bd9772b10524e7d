/** Handlers for worker processes the benchmark starts with `jobq worker --handlers`. */
export const noop = (): undefined => undefined;
