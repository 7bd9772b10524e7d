/**
 * The bounds every caller's input is checked against, shared by the checks
 * of jobs, schedules and options and by the HTTP schemas. A leaf: it imports
 * nothing, so the modules that check input never import each other for it.
 */

/** Queue and type names: what fits in a URL segment, a log line and a metric label. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const PRIORITY_RANGE = { min: -1_000_000, max: 1_000_000 } as const;
export const MAX_ATTEMPTS_LIMIT = 1000;
/** Most dependencies one job may have. */
export const MAX_DEPENDENCIES = 1000;
export const MAX_KEY_LENGTH = 255;
/** Longest delay or time limit accepted (about ten years). */
export const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;
/** Latest runAt accepted: the end of year 9999, the last instant ISO 8601 writes with four digits. */
export const MAX_RUN_AT_MS = 253_402_300_799_999;
