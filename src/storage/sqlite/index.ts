/** Entry point `jobq/sqlite`: loads better-sqlite3 only when imported. */
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { SQLITE_DEFAULTS, checkSqlitePath } from './defaults.js';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
