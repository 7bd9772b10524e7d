/**
 * A real Kafka broker for a test file: KAFKA_BOOTSTRAP when the caller gave
 * one, else one of our own from scripts/kafka/start.sh on free ports (so test
 * files running side by side, and other engineers' suites, never share or
 * stop each other's broker). Stop it in after().
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePorts } from '../helpers/free-port.js';

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../../../scripts/kafka/', import.meta.url));

export interface TestBroker {
  bootstrap: string;
  /** Stops it for good and deletes its files (only our own; a given broker is left alone). */
  stop(): Promise<void>;
  /** Stops it, keeping its data, to start it again (our own only). */
  halt(): Promise<void>;
  /** Starts it again with its data kept (our own only). */
  start(): Promise<void>;
}

/**
 * `own: true` always starts a private broker (a test that stops and restarts it), with `properties`
 * added to its config and, when given, `clusterId` as its KRaft cluster id.
 */
export async function testBroker({ own = false, properties = '', clusterId = '' } = {}): Promise<TestBroker> {
  const given = process.env.KAFKA_BOOTSTRAP;
  if (given && !own) return { bootstrap: given, stop: async () => {}, halt: async () => {}, start: async () => {} };
  const [port, controllerPort] = await freePorts(2);
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_EXTRA_PROPERTIES: properties, ...(clusterId && { KAFKA_CLUSTER_ID: clusterId }) };
  let keep = false;
  const start = async () => {
    const { stdout } = await run('bash', [`${SCRIPTS}start.sh`], { env: { ...env, KAFKA_KEEP_DATA: keep ? '1' : '0' }, timeout: 180_000 });
    keep = true;
    return stdout.trim().split('=')[1]!;
  };
  const bootstrap = await start();
  const halt = async () => void (await run('bash', [`${SCRIPTS}stop.sh`], { env, timeout: 60_000 }));
  return {
    bootstrap,
    start: async () => void (await start()),
    halt,
    stop: async () => {
      await halt();
      rmSync(`/tmp/jobq-kafka-${port}`, { recursive: true, force: true });
    },
  };
}
