/** Entry point `jobq/postgres`: loads `pg` only when imported. */
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { MIGRATIONS, migrate } from './migrations.js';
