export { type Config, configSchema, environmentVariableNames, loadConfig } from './config.ts'
export { ConfigError, parseEnv } from './parse-env.ts'
