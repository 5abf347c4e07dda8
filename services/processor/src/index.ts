export { createDeadLetterRecorder, rejectedEventRow } from './dead-letter-recorder.ts'
export { createEventProcessor } from './event-processor.ts'
export { decideMessage, type MessageOutcome } from './message-outcome.ts'
export { type Processor, startProcessor } from './processor-service.ts'
export {
  createPseudonymizer,
  PSEUDONYM_HEX_LENGTH,
  type Pseudonymizer,
  pseudonymizeEvent,
} from './pseudonymize.ts'
export { type RecomputeReport, recompute } from './recompute.ts'
export { processorRunning } from './running.ts'
