/** The Postgres backend's defaults, importable without loading `pg` (the CLI builds its settings from them). */
export const POSTGRES_DEFAULTS = Object.freeze({ schema: 'jobq', poolSize: 10, listen: true, prepare: true, replyTimeoutMs: 30_000 });
