/** The memory backend's defaults (the CLI builds its settings from them). */
export const MEMORY_DEFAULTS = Object.freeze({ maxActiveJobs: 100_000, maxFinishedJobs: 10_000, maxBytes: 268_435_456 });
