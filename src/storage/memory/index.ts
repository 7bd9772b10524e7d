/** Entry point `jobq/memory`. */
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { MEMORY_DEFAULTS } from './defaults.js';
