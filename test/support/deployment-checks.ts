// Static checks of the container deployment: docker-compose.yml, .env.example, Dockerfile and
// .dockerignore. Each check returns the problems it found as sentences (empty: none), so a test
// can run them on the files as they are and on broken copies. No Docker engine is needed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { ConfigError, loadConfig } from '@cpi/config'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'

export const repoRoot = path.resolve(import.meta.dirname, '../..')

/** The long-running services of the pipeline: each runs `node services/<name>/src/main.ts`. */
export const pipelineServices = ['ingest', 'processor', 'alerter', 'api'] as const
/** The ones that open ClickHouse: in containers they must talk to a server (CLICKHOUSE_URL). */
const clickhouseServices = new Set(['processor', 'alerter', 'api'])
/** Per image, the environment variables that are the image's own (not ours to document). */
const imageOwnVariables: { image: RegExp; variable: RegExp }[] = [
  { image: /^apache\/kafka:/, variable: /^(KAFKA_|CLUSTER_ID$)/ },
  { image: /^clickhouse\/clickhouse-server:/, variable: /^CLICKHOUSE_/ },
  { image: /^grafana\/grafana:/, variable: /^GF_/ },
]
/** Files the services read at run time; the image must contain them. */
const runtimeFiles = [
  'package.json',
  'pnpm-lock.yaml',
  ...pipelineServices.map((name) => `services/${name}/src/main.ts`),
  'services/all-in-one/src/main.ts',
  'services/api/public/index.html',
  'schemas/clickhouse/migrations/0001_create_events.sql',
  'packages/cpi-core/catalog/builtin.json',
  'docs/alerting.md',
]

// ---------------------------------------------------------------------------------------------
// Inputs

/** Everything the checks compare the deployment files with, read from the repository. */
export interface DeploymentContext {
  root: string
  /** `KEY=value` lines of .env.example. */
  envExample: Map<string, string>
  /** Variables with a row of their own in docs/configuration.md (`| \`NAME\` |`). */
  documentedVariables: Set<string>
  /** docs/deployment.md, where every command the compose file runs is written out. */
  deploymentDoc: string
  /** Kafka version of the local broker (infra/kafka/pom.xml). */
  kafkaVersion: string
  /** pnpm version of package.json's `packageManager`. */
  pnpmVersion: string
  /** Node major version of .nvmrc. */
  nodeMajor: string
  dockerignore: string[]
}

export function readText(root: string, file: string): string {
  return readFileSync(path.join(root, file), 'utf8')
}

export function loadContext(root = repoRoot): DeploymentContext {
  const configuration = readText(root, 'docs/configuration.md')
  const documentedVariables = new Set(
    [...configuration.matchAll(/^\|\s*((?:`[A-Z][A-Z0-9_]*`(?:,\s*)?)+)\s*\|/gm)].flatMap((match) =>
      [...(match[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((name) => name[1] ?? ''),
    ),
  )
  const pom = readText(root, 'infra/kafka/pom.xml')
  const packageJson = JSON.parse(readText(root, 'package.json')) as { packageManager?: string }
  return {
    root,
    envExample: parseEnvFile(readText(root, '.env.example')),
    documentedVariables,
    deploymentDoc: readText(root, 'docs/deployment.md'),
    kafkaVersion: /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1] ?? '(none in pom.xml)',
    pnpmVersion: /^pnpm@(.+)$/.exec(packageJson.packageManager ?? '')?.[1] ?? '(no packageManager)',
    nodeMajor: readText(root, '.nvmrc').trim(),
    dockerignore: readText(root, '.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  }
}

/** `KEY=value` lines; `#` comments and blank lines skipped; the value is taken as written. */
export function parseEnvFile(text: string): Map<string, string> {
  const variables = new Map<string, string>()
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed)
    if (match?.[1] !== undefined) variables.set(match[1], match[2] ?? '')
  }
  return variables
}

// ---------------------------------------------------------------------------------------------
// Compose interpolation (the subset of the Compose Specification's syntax this file may use)

export interface Interpolated {
  value: unknown
  /** Every variable a `${…}` or `$NAME` named. */
  variables: Set<string>
  errors: string[]
}

/**
 * Replaces `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
 * `${VAR:+alt}`, `${VAR+alt}` and `$VAR` in every string value (not in keys), and `$$` by `$`,
 * the way `docker compose` does with the variables of `.env`.
 */
export function interpolate(value: unknown, env: ReadonlyMap<string, string>): Interpolated {
  const variables = new Set<string>()
  const errors: string[] = []
  const replaceIn = (text: string, where: string): string =>
    text.replace(/\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, dollar, braced, bare) => {
      if (dollar) return '$'
      if (bare) {
        variables.add(bare)
        return env.get(bare) ?? ''
      }
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(braced)
      if (!match?.[1]) {
        errors.push(`${where}: invalid interpolation ${whole}`)
        return whole
      }
      const [, name, operator, argument = ''] = match
      variables.add(name)
      const current = env.get(name)
      const unsetOrEmpty = current === undefined || current === ''
      switch (operator) {
        case undefined:
          return current ?? ''
        case ':-':
          return unsetOrEmpty ? argument : current
        case '-':
          return current ?? argument
        case ':?':
        case '?':
          if (operator === ':?' ? unsetOrEmpty : current === undefined) {
            errors.push(`${where}: ${name} is required (${argument})`)
            return ''
          }
          return current ?? ''
        case ':+':
          return unsetOrEmpty ? '' : argument
        default:
          return current === undefined ? '' : argument
      }
    })
  const walk = (node: unknown, where: string): unknown => {
    if (typeof node === 'string') return replaceIn(node, where)
    if (Array.isArray(node)) return node.map((item, index) => walk(item, `${where}[${index}]`))
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, where ? `${where}.${key}` : key)]),
      )
    }
    return node
  }
  return { value: walk(value, ''), variables, errors }
}

// ---------------------------------------------------------------------------------------------
// The Compose Specification schema

let compiledSchema: ValidateFunction | undefined

/**
 * The Compose Specification JSON schema as the `dclint` package ships it (a pinned dev
 * dependency, so no network at test time), checked with ajv.
 */
export function composeSchemaProblems(document: unknown): string[] {
  if (!compiledSchema) {
    const require = createRequire(import.meta.url)
    const file = path.join(
      path.dirname(require.resolve('dclint/package.json')),
      'schemas/compose.schema.json',
    )
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    if (schema.title !== 'Compose Specification') throw new Error(`${file} is not the Compose Specification`)
    // strict: false because the schema uses annotations ajv does not know (e.g. `deprecated`).
    compiledSchema = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema)
  }
  if (compiledSchema(document)) return []
  return (compiledSchema.errors ?? []).map(
    (error) =>
      `schema: ${error.instancePath || '/'} ${error.message ?? 'is invalid'}${
        error.params && 'additionalProperty' in error.params
          ? ` (${String(error.params.additionalProperty)})`
          : ''
      }`,
  )
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

/** YAML with merge keys (`<<: *anchor`), as Compose reads it. */
export function parseCompose(text: string): unknown {
  return parse(text, { merge: true })
}

/** An image reference is pinned when its tag is a full version (x.y.z…) or it has a digest. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : ''
  return /^v?\d+\.\d+\.\d+/.test(tag)
}

function environmentOf(service: Json): Record<string, string> {
  const environment = service.environment
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const text = String(entry)
        const equals = text.indexOf('=')
        return equals < 0 ? [text, ''] : [text.slice(0, equals), text.slice(equals + 1)]
      }),
    )
  }
  if (isObject(environment)) {
    return Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]),
    )
  }
  return {}
}

function commandOf(service: Json): string[] | undefined {
  const { command } = service
  if (Array.isArray(command)) return command.map(String)
  if (typeof command === 'string') return command.split(/\s+/).filter(Boolean)
  return undefined
}

function healthcheckCommand(service: Json): string | undefined {
  const healthcheck = service.healthcheck
  if (!isObject(healthcheck) || healthcheck.disable === true || healthcheck.disable === 'true')
    return undefined
  const test = healthcheck.test
  const text = Array.isArray(test) ? test.map(String).join(' ') : typeof test === 'string' ? test : ''
  return text === '' || /^NONE\b/.test(text) ? undefined : text
}

/** `stop_grace_period` and friends (`20s`, `1m30s`, `500ms`) in milliseconds. */
export function durationMs(text: string): number {
  let total = 0
  let rest = text.trim()
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ms|us|h|m|s)/.exec(rest)
    if (!match) return Number.NaN
    const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 }[match[2] as 'h']
    total += Number(match[1]) * unit
    rest = rest.slice(match[0].length)
  }
  return total
}

interface Mount {
  source: string
  target: string
  readOnly: boolean
  bind: boolean
}

function mountsOf(service: Json): Mount[] {
  const volumes = Array.isArray(service.volumes) ? service.volumes : []
  return volumes.map((volume) => {
    if (isObject(volume)) {
      const source = String(volume.source ?? '')
      return {
        source,
        target: String(volume.target ?? ''),
        readOnly: volume.read_only === true,
        bind: volume.type === 'bind',
      }
    }
    const [source = '', target = '', mode = ''] = String(volume).split(':')
    return {
      source,
      target,
      readOnly: mode.split(',').includes('ro'),
      bind: source.startsWith('.') || source.startsWith('/'),
    }
  })
}

function publishedPorts(service: Json): { hostIp: string; hostPort: string; raw: string }[] {
  const ports = Array.isArray(service.ports) ? service.ports : []
  return ports.map((port) => {
    if (isObject(port)) {
      return {
        hostIp: String(port.host_ip ?? ''),
        hostPort: String(port.published ?? ''),
        raw: JSON.stringify(port),
      }
    }
    const parts = String(port).split(':')
    if (parts.length === 3) return { hostIp: parts[0] ?? '', hostPort: parts[1] ?? '', raw: String(port) }
    if (parts.length === 2) return { hostIp: '', hostPort: parts[0] ?? '', raw: String(port) }
    return { hostIp: '', hostPort: '', raw: String(port) }
  })
}

/** The environment a service of the image starts with: the Dockerfile's ENV, then compose's. */
export function serviceEnvironment(dockerfile: Dockerfile, service: Json): Record<string, string> {
  return { ...dockerfile.finalStage()?.env, ...environmentOf(service) }
}

/**
 * Every problem of a compose document (as parsed, before interpolation) against the
 * repository. `dockerfile` is the parsed Dockerfile the services are built from.
 */
export function composeProblems(raw: unknown, context: DeploymentContext, dockerfile: Dockerfile): string[] {
  const problems: string[] = []
  const problem = (text: string) => problems.push(text)

  problems.push(...composeSchemaProblems(raw).map((text) => `as written: ${text}`))
  const interpolated = interpolate(raw, context.envExample)
  problems.push(...interpolated.errors.map((text) => `interpolation with .env.example: ${text}`))
  for (const name of interpolated.variables) {
    if (!context.envExample.has(name)) problem(`\${${name}} is used but .env.example has no line for it`)
    if (!context.documentedVariables.has(name))
      problem(`\${${name}} is not documented in docs/configuration.md`)
  }
  for (const name of context.envExample.keys()) {
    if (!interpolated.variables.has(name))
      problem(`.env.example sets ${name}, which docker-compose.yml never uses`)
  }
  const document = interpolated.value
  problems.push(...composeSchemaProblems(document).map((text) => `after interpolation: ${text}`))
  if (!isObject(document) || !isObject(document.services)) return [...problems, 'no services']
  const services = document.services as Record<string, Json>
  const serviceNames = Object.keys(services)

  for (const name of pipelineServices) {
    if (!services[name]) problem(`service ${name} is missing`)
  }

  const declaredVolumes = new Set(isObject(document.volumes) ? Object.keys(document.volumes) : [])
  const usedVolumes = new Set<string>()
  const hostPorts = new Map<string, string>()

  for (const [name, service] of Object.entries(services)) {
    if (!isObject(service)) {
      problem(`service ${name} is not a mapping`)
      continue
    }
    const built = service.build !== undefined
    const image = typeof service.image === 'string' ? service.image : ''
    const environment = environmentOf(service)
    const oneShot = service.restart === 'no'

    // Images: pinned; built ones from the repository's Dockerfile.
    if (built) {
      const build = isObject(service.build) ? service.build : { context: service.build }
      const dockerfileName = String(build.dockerfile ?? 'Dockerfile')
      const buildContext = String(build.context ?? '.')
      if (!existsSync(path.join(context.root, buildContext, dockerfileName))) {
        problem(`${name}: build file ${path.join(buildContext, dockerfileName)} does not exist`)
      }
      if (/:latest$/.test(image) || image === '') problem(`${name}: the built image needs a tag of its own`)
    } else if (!isPinnedImage(image)) {
      problem(`${name}: image ${JSON.stringify(image)} is not pinned to a version (x.y.z or a digest)`)
    }
    if (/^apache\/kafka:/.test(image) && !image.startsWith(`apache/kafka:${context.kafkaVersion}`)) {
      problem(`${name}: ${image} is not the Kafka of infra/kafka/pom.xml (${context.kafkaVersion})`)
    }

    // Environment: every variable ours is documented; the image's own may be set freely.
    const own = imageOwnVariables.find((rule) => rule.image.test(image) && !built)
    for (const variable of Object.keys(environment)) {
      if (own?.variable.test(variable)) continue
      if (!context.documentedVariables.has(variable)) {
        problem(`${name}: environment variable ${variable} is not documented in docs/configuration.md`)
      }
    }
    for (const [variable, value] of Object.entries(environment)) {
      if (!/^GF_PLUGINS_PREINSTALL(_SYNC)?$/.test(variable)) continue
      for (const plugin of value.split(',').filter(Boolean)) {
        if (!/@\d+\.\d+\.\d+/.test(plugin))
          problem(`${name}: Grafana plugin ${plugin} is not pinned (id@x.y.z)`)
      }
    }

    // Health: every long-running service has a healthcheck.
    const health = healthcheckCommand(service)
    if (!oneShot && !health) problem(`${name}: a long-running service without a healthcheck`)

    // Commands: the services of the image run files of the repository, as docs/deployment.md says.
    if (built) {
      const command = commandOf(service)
      if (!command) {
        problem(`${name}: no command (the image's default is the all-in-one process)`)
      } else {
        const [program, file] = command
        if (program !== 'node' || !file) {
          problem(`${name}: command ${JSON.stringify(command)} is not \`node <file>\``)
        } else {
          if (!existsSync(path.join(context.root, file)))
            problem(`${name}: command runs ${file}, which does not exist`)
          if (
            (pipelineServices as readonly string[]).includes(name) &&
            file !== `services/${name}/src/main.ts`
          ) {
            problem(`${name}: command runs ${file}, not services/${name}/src/main.ts`)
          }
          if (!context.deploymentDoc.includes(command.join(' '))) {
            problem(`${name}: docs/deployment.md does not show its command \`${command.join(' ')}\``)
          }
        }
      }
      if (!oneShot) {
        const env = serviceEnvironment(dockerfile, service)
        const port = env.PORT ?? '8080'
        if (env.HOST !== '0.0.0.0')
          problem(`${name}: HOST is ${env.HOST ?? 'unset'}, so other containers cannot reach it`)
        if (health && !health.includes(`127.0.0.1:${port}/healthz`)) {
          problem(`${name}: the healthcheck does not ask http://127.0.0.1:${port}/healthz`)
        }
        const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 15_000)
        const graceMs = durationMs(String(service.stop_grace_period ?? '10s'))
        if (!(graceMs > shutdownMs)) {
          problem(
            `${name}: stop_grace_period (${graceMs} ms) does not leave room for SHUTDOWN_TIMEOUT_MS (${shutdownMs})`,
          )
        }
        if (clickhouseServices.has(name) && !env.CLICKHOUSE_URL) {
          problem(`${name}: no CLICKHOUSE_URL, so it would open the embedded engine in the container`)
        }
        try {
          loadConfig(env)
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error
          problem(
            `${name}: its environment is not a valid configuration: ${error.message.replaceAll('\n', ' ')}`,
          )
        }
        if (env.CPI_MODE === 'production' && name === 'ingest' && !env.CPI_INGEST_KEYS) {
          problem('ingest: production mode needs CPI_INGEST_KEYS')
        }
      }
    }

    // Dependencies: long forms with conditions; healthy means a healthcheck to wait for.
    const dependsOn = service.depends_on
    if (Array.isArray(dependsOn))
      problem(`${name}: depends_on without conditions (use condition: service_healthy)`)
    const dependencies = isObject(dependsOn) ? dependsOn : {}
    for (const [target, rule] of Object.entries(dependencies)) {
      const targetService = services[target]
      const condition = isObject(rule) ? rule.condition : undefined
      if (!targetService) {
        problem(`${name}: depends on ${target}, which is not a service`)
        continue
      }
      const targetOneShot = targetService.restart === 'no'
      if (!targetOneShot && condition !== 'service_healthy') {
        problem(`${name}: depends on ${target} with ${String(condition)}, not service_healthy`)
      }
      if (condition === 'service_healthy' && !healthcheckCommand(targetService)) {
        problem(`${name}: waits for ${target} to be healthy, but ${target} has no healthcheck`)
      }
    }
    const dependencyNames = new Set(Object.keys(dependencies))
    if (
      Object.values(environment).some((value) => /(^|,)kafka:9092/.test(value)) &&
      !dependencyNames.has('kafka')
    ) {
      problem(`${name}: uses Kafka but does not wait for it`)
    }
    if (environment.CLICKHOUSE_URL?.includes('clickhouse:') && !dependencyNames.has('clickhouse')) {
      problem(`${name}: uses ClickHouse but does not wait for it`)
    }

    // Ports: bound to the loopback interface, each host port once.
    for (const port of publishedPorts(service)) {
      if (port.hostIp !== '127.0.0.1') problem(`${name}: port ${port.raw} is published on every interface`)
      const previous = hostPorts.get(port.hostPort)
      if (previous) problem(`${name}: host port ${port.hostPort} is also published by ${previous}`)
      hostPorts.set(port.hostPort, name)
    }

    // Volumes: named ones declared, bind mounts from the repository.
    for (const mount of mountsOf(service)) {
      if (mount.bind) {
        if (!existsSync(path.join(context.root, mount.source)))
          problem(`${name}: mounts ${mount.source}, which does not exist`)
        if (!mount.readOnly) problem(`${name}: bind mount ${mount.source} is writable (add :ro)`)
      } else {
        usedVolumes.add(mount.source)
        if (!declaredVolumes.has(mount.source))
          problem(`${name}: volume ${mount.source} is not declared under volumes`)
      }
    }
  }
  for (const volume of declaredVolumes) {
    if (!usedVolumes.has(volume)) problem(`volume ${volume} is declared but no service uses it`)
  }

  problems.push(...processorProblems(services.processor, document))
  problems.push(...grafanaProblems(services.grafana, context))
  problems.push(...clickhouseProblems(services.clickhouse, context))
  if (!serviceNames.includes('kafka') || !serviceNames.includes('clickhouse')) {
    problem('Kafka and ClickHouse must both be services')
  }
  return problems
}

function processorProblems(processor: Json | undefined, document: Json): string[] {
  if (!processor) return []
  const problems: string[] = []
  const deploy = isObject(processor.deploy) ? processor.deploy : {}
  const replicas = Number(deploy.replicas ?? 1)
  const partitions = Number(environmentOf(processor).CPI_EVENTS_PARTITIONS ?? 6)
  if (!(replicas >= 2))
    problems.push(`processor: ${replicas} replica(s); the production shape runs at least 2`)
  if (replicas > partitions) problems.push(`processor: ${replicas} replicas but ${partitions} partitions`)
  if (processor.container_name !== undefined) problems.push('processor: a container_name prevents replicas')
  if (publishedPorts(processor).length > 0)
    problems.push('processor: replicas cannot share published host ports')
  const others = isObject(document.services) ? Object.entries(document.services) : []
  for (const [name, service] of others) {
    if (
      name !== 'processor' &&
      isObject(service) &&
      commandOf(service)?.includes('services/processor/src/main.ts')
    ) {
      problems.push(`${name}: a second processor service; scale the one service instead (one consumer group)`)
    }
  }
  return problems
}

function grafanaProblems(grafana: Json | undefined, context: DeploymentContext): string[] {
  if (!grafana) return ['grafana: the service is missing']
  const problems: string[] = []
  const mounts = mountsOf(grafana)
  const mountOf = (source: string) =>
    mounts.find((mount) => path.normalize(mount.source) === path.normalize(source))
  const provisioning = mountOf('./infra/grafana/provisioning')
  if (provisioning?.target !== '/etc/grafana/provisioning') {
    problems.push('grafana: ./infra/grafana/provisioning is not mounted at /etc/grafana/provisioning')
  }
  // The dashboards go where the provisioned file provider looks for them.
  const providers = readdirSync(path.join(context.root, 'infra/grafana/provisioning/dashboards')).filter(
    (file) => /\.ya?ml$/.test(file),
  )
  const dashboards = mountOf('./infra/grafana/dashboards')
  for (const file of providers) {
    const provider = parse(readText(context.root, `infra/grafana/provisioning/dashboards/${file}`)) as {
      providers?: { options?: { path?: string } }[]
    }
    for (const entry of provider.providers ?? []) {
      const wanted = entry.options?.path
      if (wanted && dashboards?.target !== wanted) {
        problems.push(
          `grafana: ./infra/grafana/dashboards is not mounted at ${wanted} (provisioning/dashboards/${file})`,
        )
      }
    }
  }
  // Grafana expands ${VAR} in provisioning files from its environment, with no defaults.
  const environment = environmentOf(grafana)
  const datasources = path.join(context.root, 'infra/grafana/provisioning/datasources')
  for (const file of readdirSync(datasources)) {
    // The values, not the comments, which may mention ${VAR} too.
    const values = JSON.stringify(parse(readFileSync(path.join(datasources, file), 'utf8')))
    for (const match of values.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) {
      const variable = match[1] ?? ''
      if (!environment[variable])
        problems.push(`grafana: ${variable} (read by provisioning/datasources/${file}) is not set`)
    }
  }
  return problems
}

function clickhouseProblems(clickhouse: Json | undefined, context: DeploymentContext): string[] {
  if (!clickhouse) return []
  const problems: string[] = []
  const initdb = mountsOf(clickhouse).find((mount) => mount.target === '/docker-entrypoint-initdb.d')
  if (initdb) {
    const folder = path.join(context.root, initdb.source)
    if (existsSync(folder) && statSync(folder).isDirectory()) {
      for (const file of readdirSync(folder)) {
        if (!/\.(sh|sql)$/.test(file))
          problems.push(`clickhouse: ${initdb.source}/${file} is neither .sh nor .sql`)
      }
    }
  }
  return problems
}

export function composeTextProblems(
  text: string,
  context: DeploymentContext,
  dockerfile: Dockerfile,
): string[] {
  let raw: unknown
  try {
    raw = parseCompose(text)
  } catch (error) {
    return [`not valid YAML: ${(error as Error).message}`]
  }
  return composeProblems(raw, context, dockerfile)
}

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

export interface Instruction {
  keyword: string
  args: string
}

export interface Stage {
  image: string
  name: string | undefined
  instructions: Instruction[]
  env: Record<string, string>
}

export interface Dockerfile {
  stages: Stage[]
  finalStage(): Stage | undefined
}

/** Instructions per stage; continuation lines joined, comments and the parser directive dropped. */
export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = []
  let current = ''
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `
      continue
    }
    current += line
    if (current.trim() !== '') logical.push(current.trim())
    current = ''
  }
  if (current.trim() !== '') logical.push(current.trim())
  const stages: Stage[] = []
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ image: match?.[1] ?? args, name: match?.[2], instructions: [], env: {} })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) continue
    const instruction = { keyword: keyword.toUpperCase(), args }
    stage.instructions.push(instruction)
    if (instruction.keyword === 'ENV') {
      for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
        stage.env[pair[1] ?? ''] = (pair[2] ?? '').replace(/^"|"$/g, '')
      }
    }
  }
  return { stages, finalStage: () => stages.at(-1) }
}

/**
 * Whether .dockerignore leaves a path out of the build context: each pattern is matched against
 * the path and its parent folders (`*` within a segment, `**` across segments, `!` re-includes).
 */
export function dockerIgnores(patterns: readonly string[], file: string): boolean {
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/^\/+/, '')
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) =>
          part === '**/' || part === '**'
            ? '(?:.*/)?'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    )
  const segments = path.normalize(file).split('/')
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'))
  let ignored = false
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    const regExp = toRegExp(negated ? pattern.slice(1) : pattern)
    if (candidates.some((candidate) => regExp.test(candidate))) ignored = !negated
  }
  return ignored
}

export function dockerfileProblems(dockerfile: Dockerfile, context: DeploymentContext): string[] {
  const problems: string[] = []
  const problem = (text: string) => problems.push(text)
  const { stages } = dockerfile
  const final = dockerfile.finalStage()
  if (stages.length < 2 || !final)
    return ['Dockerfile: not a multi-stage build (a build stage and a runtime stage)']

  for (const stage of stages) {
    if (!isPinnedImage(stage.image)) problem(`Dockerfile: FROM ${stage.image} is not pinned to a version`)
    if (!new RegExp(`^node:${context.nodeMajor}\\.`).test(stage.image)) {
      problem(`Dockerfile: FROM ${stage.image} is not Node ${context.nodeMajor} (.nvmrc)`)
    }
  }
  if (/alpine/.test(final.image)) {
    problem(`Dockerfile: the runtime stage ${final.image} is musl-based; chDB's native engine needs glibc`)
  }

  const runs = stages.flatMap((stage) =>
    stage.instructions.filter((instruction) => instruction.keyword === 'RUN'),
  )
  const pnpmInstalls = runs.map((run) => /pnpm@(\S+)/.exec(run.args)?.[1]).filter(Boolean)
  if (pnpmInstalls.length === 0) problem('Dockerfile: pnpm is not installed at a pinned version')
  for (const version of pnpmInstalls) {
    if (version !== context.pnpmVersion) {
      problem(
        `Dockerfile: installs pnpm@${version}, package.json's packageManager is pnpm@${context.pnpmVersion}`,
      )
    }
  }
  const install = runs.find((run) => /\bpnpm install\b/.test(run.args))
  if (!install) problem('Dockerfile: no `pnpm install`')
  else {
    for (const flag of ['--frozen-lockfile', '--prod']) {
      if (!install.args.includes(flag)) problem(`Dockerfile: pnpm install without ${flag}`)
    }
  }
  if (
    final.instructions.some(
      (instruction) => /\bpnpm\b/.test(instruction.args) && instruction.keyword === 'RUN',
    )
  ) {
    problem('Dockerfile: the runtime stage runs pnpm (install in the build stage, copy the result)')
  }

  const finalKeyword = (keyword: string) =>
    final.instructions.filter((instruction) => instruction.keyword === keyword)
  const user = finalKeyword('USER').at(-1)?.args.trim()
  if (!user) problem('Dockerfile: the runtime stage runs as root (no USER)')
  else if (/^(root|0)(:|$)/.test(user)) problem(`Dockerfile: the runtime stage runs as ${user}`)
  const userIndex = final.instructions.findLastIndex((instruction) => instruction.keyword === 'USER')
  const healthcheck = finalKeyword('HEALTHCHECK').at(-1)
  if (!healthcheck || /^NONE\b/i.test(healthcheck.args))
    problem('Dockerfile: the runtime stage has no HEALTHCHECK')
  else if (!healthcheck.args.includes('/healthz'))
    problem('Dockerfile: the HEALTHCHECK does not ask /healthz')
  const cmd = finalKeyword('CMD').at(-1)
  if (!cmd) problem('Dockerfile: no CMD')
  else {
    let command: string[] = []
    try {
      command = JSON.parse(cmd.args) as string[]
    } catch {
      problem('Dockerfile: CMD is not in exec (JSON) form, so signals would not reach node')
    }
    const file = command[1]
    if (command[0] !== 'node' || !file || !existsSync(path.join(context.root, file))) {
      problem(`Dockerfile: CMD ${cmd.args} does not run an existing file with node`)
    }
  }
  if (final.env.HOST !== '0.0.0.0') problem('Dockerfile: HOST is not 0.0.0.0 in the runtime stage')
  const exposed = finalKeyword('EXPOSE').flatMap((instruction) => instruction.args.split(/\s+/))
  if (!exposed.includes(final.env.PORT ?? '8080'))
    problem(`Dockerfile: EXPOSE does not name PORT ${final.env.PORT}`)
  final.instructions.forEach((instruction, index) => {
    if (index > userIndex && userIndex >= 0 && instruction.keyword === 'RUN') {
      problem('Dockerfile: a RUN after USER in the runtime stage')
    }
  })

  // COPY sources: in the repository, inside the build context, together holding the runtime files.
  const stageNames = new Set(stages.map((stage) => stage.name).filter(Boolean))
  const sources: string[] = []
  for (const stage of stages) {
    for (const instruction of stage.instructions.filter((each) => each.keyword === 'COPY')) {
      const words = instruction.args.split(/\s+/)
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length)
      const paths = words.filter((word) => !word.startsWith('--'))
      if (from !== undefined) {
        if (!stageNames.has(from)) problem(`Dockerfile: COPY --from=${from} names no earlier stage`)
        continue
      }
      for (const source of paths.slice(0, -1)) {
        sources.push(path.normalize(source))
        if (!existsSync(path.join(context.root, source)))
          problem(`Dockerfile: COPY ${source}: no such file in the repository`)
        if (dockerIgnores(context.dockerignore, source))
          problem(`Dockerfile: COPY ${source}, which .dockerignore leaves out`)
      }
    }
  }
  for (const file of runtimeFiles) {
    const copied = sources.some((source) => file === source || file.startsWith(`${source}/`))
    if (!copied) problem(`Dockerfile: ${file} (needed at run time) is not copied into the image`)
    if (dockerIgnores(context.dockerignore, file))
      problem(`.dockerignore leaves out ${file} (needed at run time)`)
  }
  for (const local of ['node_modules', 'services/api/node_modules', '.git', '.env', '.data', '.tools']) {
    if (!dockerIgnores(context.dockerignore, local)) problem(`.dockerignore does not leave out ${local}`)
  }
  return problems
}
