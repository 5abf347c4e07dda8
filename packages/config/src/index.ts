export {
  type Config,
  configSchema,
  environmentVariableNames,
  loadConfig,
  loadConfigOrExit,
  secretVariableNames,
} from './config.ts'
export { ConfigError, parseEnv } from './parse-env.ts'
