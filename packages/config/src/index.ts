export {
  type Config,
  configSchema,
  environmentVariableNames,
  loadConfig,
  loadConfigOrExit,
} from './config.ts'
export { ConfigError, parseEnv } from './parse-env.ts'
