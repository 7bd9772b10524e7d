/**
 * Imported first by library-child.ts, for its side effect: a worker scenario
 * (drain, latency) runs with the heap setting that
 * `jobq worker` applies (cli/heap-tuning.ts), set before the other modules
 * load, so the peak RSS it reports is what the CLI's worker would have.
 */
import { keepYoungGenerationSmall } from '../src/cli/heap-tuning.js';

const scenario = JSON.parse(process.argv[2] ?? '{}') as { kind?: string; store?: string };
if ((scenario.kind === 'drain' || scenario.kind === 'latency') && scenario.store !== undefined) keepYoungGenerationSmall('worker', scenario.store);
