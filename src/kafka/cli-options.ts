/**
 * What the CLI flags for Kafka become: `--dispatch store|kafka|kafka-share`,
 * `--kafka-brokers host:port[,host:port]`, `--ingest topic=type[:queue]`
 * (repeatable) and `--events-topic name`. Validation names the flag; the
 * CLI prints the message as its one start-up line and exits 2. The CLI
 * itself (src/cli) wires this in; nothing here reads argv or env.
 */
import type { DispatchFactory } from '../core/worker/claim-source.js';
import { kafkaDispatch } from './dispatch.js';
import type { KafkaExtrasOptions } from './extras.js';
import { parseIngestRule, type IngestRule } from './ingest.js';
import { resolveKafkaOptions, TOPIC_PATTERN, type KafkaOptions } from './options.js';
import { shareDispatch } from './share-dispatch.js';
import { KafkaUnreachableError } from './topics.js';

export const DISPATCH_MODES = ['store', 'kafka', 'kafka-share'] as const;
export type DispatchMode = (typeof DISPATCH_MODES)[number];

export interface KafkaFlags {
  /** --dispatch (default store) */
  dispatch?: string;
  /** --kafka-brokers */
  kafkaBrokers?: string;
  /** --ingest, once per topic */
  ingest?: readonly string[];
  /** --events-topic */
  eventsTopic?: string;
  /** --store: Kafka dispatch and ingest need postgres. */
  store: string;
}

/** A flag value the CLI must refuse: the message names the flag. */
export class KafkaFlagError extends Error {
  override readonly name = 'KafkaFlagError';
}

export interface KafkaPlan {
  mode: DispatchMode;
  /** For the Jobq's `dispatch` option; undefined keeps the store's claims. */
  dispatch: DispatchFactory | undefined;
  /** For startKafkaExtras(jobq, …) after jobq.start(); null when neither ingest nor an events topic was asked for. */
  extras: KafkaExtrasOptions | null;
}

export function planKafka(flags: KafkaFlags, tuning: Partial<KafkaOptions> = {}): KafkaPlan {
  const mode = (flags.dispatch ?? 'store') as DispatchMode;
  if (!DISPATCH_MODES.includes(mode)) throw new KafkaFlagError(`--dispatch must be one of ${DISPATCH_MODES.join(', ')}, got "${flags.dispatch}"`);
  const ingest: IngestRule[] = [];
  for (const spec of flags.ingest ?? []) {
    try {
      ingest.push(parseIngestRule(spec));
    } catch (err) {
      throw new KafkaFlagError((err as Error).message);
    }
  }
  if (flags.eventsTopic !== undefined && !TOPIC_PATTERN.test(flags.eventsTopic)) throw new KafkaFlagError(`--events-topic "${flags.eventsTopic}" is not a Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)`);
  const wantsKafka = mode !== 'store' || ingest.length > 0 || flags.eventsTopic !== undefined;
  if (!wantsKafka) {
    if (flags.kafkaBrokers !== undefined) throw new KafkaFlagError('--kafka-brokers is given but nothing uses Kafka (add --dispatch kafka, --ingest or --events-topic)');
    return { mode, dispatch: undefined, extras: null };
  }
  const what = mode !== 'store' ? `--dispatch ${mode}` : ingest.length > 0 ? '--ingest' : '--events-topic';
  if (!flags.kafkaBrokers) throw new KafkaFlagError(`${what} needs --kafka-brokers host:port`);
  if ((mode !== 'store' || ingest.length > 0) && flags.store !== 'postgres') throw new KafkaFlagError(`${mode !== 'store' ? `--dispatch ${mode}` : '--ingest'} needs --store postgres (Postgres stays the source of truth; got --store ${flags.store})`);
  const brokers = flags.kafkaBrokers.split(',').map((b) => b.trim());
  const options: KafkaOptions & { flag: string } = { ...tuning, brokers, flag: '--kafka-brokers' };
  try {
    resolveKafkaOptions(options);
  } catch (err) {
    throw new KafkaFlagError(`--kafka-brokers "${flags.kafkaBrokers}": ${(err as Error).message.replace(/^kafka\.brokers /, '')}`);
  }
  const dispatch = mode === 'kafka' ? kafkaDispatch(options) : mode === 'kafka-share' ? shareDispatch(options) : undefined;
  const extras = ingest.length > 0 || flags.eventsTopic !== undefined ? { ...options, ingest, ...(flags.eventsTopic !== undefined && { eventsTopic: flags.eventsTopic }) } : null;
  return { mode, dispatch, extras };
}

/** The start-up line for an error from jobq.start() or startKafkaExtras(), or null when it is not Kafka's. */
export function kafkaStartupMessage(err: unknown): string | null {
  return err instanceof KafkaUnreachableError ? err.message : null;
}
