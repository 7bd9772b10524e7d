/** Entry point `jobq/postgres`: loads `pg` only when imported. */
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { POSTGRES_DEFAULTS } from './defaults.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.js';
