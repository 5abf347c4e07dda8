export {
  type AccessCheck,
  type AccessKeys,
  createAccessKeys,
  environmentKeyEntries,
  type KeyEntry,
  type KeySource,
  KeysFileError,
  keyEntry,
  parseKeysFile,
  SCOPES,
  type Scope,
  startKeySource,
} from './access-keys.ts'
export { type CheckResult, type ReadinessCheck, registerHealthRoutes, runChecks } from './health.ts'
export {
  applyHttpLimits,
  createHttpServer,
  defaultHttpLimits,
  type HttpLimits,
  MAX_PARAM_LENGTH,
} from './http-server.ts'
export { createKeyring, type Keyring, keyFingerprint } from './keyring.ts'
export {
  counter,
  createMetricsRegistry,
  gauge,
  histogram,
  registerMetricsRoute,
  rejectedEventsCounter,
} from './metrics.ts'
export { serveProcess } from './serve.ts'
export { createShutdown, type ShutdownStep } from './shutdown.ts'
export { runStartSteps, startBackoffMs } from './start-steps.ts'
