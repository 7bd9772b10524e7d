/**
 * For bench:kafka's BENCH_KAFKA_DEBUG: when each job's record was sent, read
 * back from the topic (the record's CreateTime, stamped by the relay's
 * producer as it sends). A job's wait then splits into enqueue -> send (the
 * outbox and the relay) and send -> start (the broker, a fetch, the claim).
 */
import { Consumer, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';

export interface RecordTime {
  sentAt: number;
  partition: number;
}

/** The consumer group recordTimes() reads `topic` with (deleted with the topic after the run). */
export const recordTimesGroup = (topic: string) => `bench-record-times-${topic}`;

/** Every record of `topic` up to `count` of them (or what came within 10 s), by job id; the last record of a job id wins. */
export async function recordTimes(brokers: string, topic: string, count: number): Promise<Map<string, RecordTime>> {
  const consumer = new Consumer({ clientId: 'bench-record-times', groupId: recordTimesGroup(topic), bootstrapBrokers: [brokers], deserializers: stringDeserializers, autocommit: false });
  const times = new Map<string, RecordTime>();
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      stream.on('data', (m: { value: string; timestamp: bigint; partition: number }) => {
        times.set(m.value, { sentAt: Number(m.timestamp), partition: m.partition });
        if (times.size >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await stream.close();
  } finally {
    await consumer.close();
  }
  return times;
}
