/** Builds store records through the same path the core uses, so fixtures work on every backend. */
import { toNewJobRecord, type EnqueueInput } from '../../src/core/enqueue-input.js';
import { resolveOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import type { NewJobRecord } from '../../src/contracts/store.js';

const options = resolveOptions({ store: new MemoryStore() });

export function newRecord(now: number, input: Partial<EnqueueInput> = {}): NewJobRecord {
  return toNewJobRecord({ type: 'test', payload: { n: 1 }, ...input }, options, now);
}

export function newRecords(now: number, count: number, input: Partial<EnqueueInput> = {}): NewJobRecord[] {
  return Array.from({ length: count }, (_, i) => newRecord(now, { payload: { i }, ...input }));
}
