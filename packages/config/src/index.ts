export { type Config, configSchema, loadConfig } from './config.ts'
export { ConfigError, parseEnv } from './parse-env.ts'
