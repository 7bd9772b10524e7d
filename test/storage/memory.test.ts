import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { runStoreConformance } from './conformance/suite.js';

runStoreConformance({ name: 'memory', open: async () => ({ store: new MemoryStore() }) });
