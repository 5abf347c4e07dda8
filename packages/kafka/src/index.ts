export {
  consumerGroupLag,
  createKafka,
  ensureTopics,
  type KafkaSettings,
  kafkaConnectionConfig,
  kafkaReachable,
  type TopicSpec,
} from './client.ts'
export { type Batch, BatchConsumer, type BatchConsumerOptions, type PartitionProgress } from './consumer.ts'
export { isRetriable, KafkaAdapterError, toKafkaError } from './errors.ts'
export { BatchingProducer, type BatchingProducerOptions, ProducerQueueFullError } from './producer.ts'
