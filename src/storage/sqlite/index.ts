/** Entry point `jobq/sqlite`: loads better-sqlite3 only when imported. */
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS } from './migrations.js';
