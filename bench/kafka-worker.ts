/**
 * A worker node for `npm run bench:kafka`, in its own process: argv is
 * `<database url> <schema> <store|kafka> <brokers> <concurrency>`; no-op
 * handler `noop`. Prints `ready` once it works; SIGTERM stops it.
 */
import { Jobq } from '../src/core/jobq.js';
import { kafkaDispatch } from '../src/kafka/dispatch.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';

const [url, schema, mode, brokers, concurrency] = process.argv.slice(2) as [string, string, string, string, string];
const store = await PostgresStore.open({ connectionString: url, schema });
const jobq = new Jobq({
  store,
  handlers: { noop: () => undefined },
  queues: { default: { concurrency: Number(concurrency) } },
  ...(mode === 'kafka' && { dispatch: kafkaDispatch({ brokers: [brokers] }) }),
});
await jobq.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void jobq.close(1000).then(() => process.exit(0)));
