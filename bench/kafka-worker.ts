/**
 * A worker node for `npm run bench:kafka`, in its own process: argv is
 * `<database url> <schema> <store|kafka> <brokers> <concurrency>`; no-op
 * handler `noop`. Prints `ready` once it works, then `ran <n>` (handler
 * calls so far) every 50 ms while the count moves, so the bench can watch
 * progress without querying Postgres (whose CPU it measures); SIGTERM stops it.
 */
import { Jobq } from '../src/core/jobq.js';
import { kafkaDispatch } from '../src/kafka/dispatch.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';

const [url, schema, mode, brokers, concurrency] = process.argv.slice(2) as [string, string, string, string, string];
const store = await PostgresStore.open({ connectionString: url, schema });
let ran = 0;
const jobq = new Jobq({
  store,
  handlers: { noop: () => void ran++ },
  queues: { default: { concurrency: Number(concurrency) } },
  ...(mode === 'kafka' && { dispatch: kafkaDispatch({ brokers: [brokers] }) }),
});
await jobq.start();
process.stdout.write('ready\n');
let reported = 0;
setInterval(() => {
  if (ran === reported) return;
  reported = ran;
  process.stdout.write(`ran ${ran}\n`);
}, 50).unref();
process.on('SIGTERM', () => void jobq.close(1000).then(() => process.exit(0)));
