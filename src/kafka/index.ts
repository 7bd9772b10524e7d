/**
 * Entry point `jobq/kafka`: dispatch through Kafka (consumer groups or share
 * groups), topic ingest and the event feed. Loads the Kafka clients; the
 * core (`jobq`) never does.
 */
export { kafkaDispatch, type KafkaDispatch } from './dispatch.js';
export { shareDispatch } from './share-dispatch.js';
export { startKafkaExtras, type KafkaExtras, type KafkaExtrasOptions } from './extras.js';
export { KAFKA_DEFAULTS, type KafkaOptions } from './options.js';
export type { IngestRule, IngestPayload } from './ingest.js';
export { planKafka, kafkaStartupMessage, KafkaFlagError, DISPATCH_MODES, type DispatchMode, type KafkaFlags, type KafkaPlan } from './cli-options.js';
export { KafkaUnreachableError, queueTopic } from './topics.js';
