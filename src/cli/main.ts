#!/usr/bin/env node
/**
 * The `jobq` command. Sets up V8 for a `jobq worker` first, then loads the
 * commands (program.ts) by a dynamic import: an ES module graph is loaded and
 * compiled whole before its first module runs, and loading the CLI's doubled
 * the young generation before a setting made inside it could apply
 * (heap-tuning.ts, tuneWorkerHeapFromStart).
 */
import { tuneWorkerHeapFromStart } from './heap-tuning.js';

tuneWorkerHeapFromStart();
await import('./program.js');
