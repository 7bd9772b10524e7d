/** Entry point `jobq/memory`. */
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
