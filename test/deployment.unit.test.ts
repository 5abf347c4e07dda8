// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax, written out on purpose
import { execFileSync } from 'node:child_process'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  composeProblems,
  composeSchemaProblems,
  composeTextProblems,
  type DeploymentContext,
  type Dockerfile,
  dockerfileProblems,
  dockerIgnores,
  durationMs,
  interpolate,
  isPinnedImage,
  loadContext,
  parseCompose,
  parseDockerfile,
  parseEnvFile,
  readText,
  repoRoot,
} from './support/deployment-checks.ts'

// The container deployment, checked without a Docker engine: docker-compose.yml against the
// Compose Specification schema and the repository (pinned images, commands that exist and are
// documented, documented variables, .env.example, healthchecks, dependencies, Grafana's
// mounts), the Dockerfile (stages, user, healthcheck, pnpm, what it copies) and .dockerignore.
// Every rule is also shown to fail on a broken copy.

let context: DeploymentContext
let composeText: string
let dockerfileText: string
let dockerfile: Dockerfile

beforeAll(() => {
  context = loadContext()
  composeText = readText(repoRoot, 'docker-compose.yml')
  dockerfileText = readText(repoRoot, 'Dockerfile')
  dockerfile = parseDockerfile(dockerfileText)
})

type Service = Record<string, unknown> & { environment?: Record<string, unknown> }
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> }

/** A fresh parsed copy of docker-compose.yml to break. */
function composeCopy(): Compose {
  return parseCompose(composeText) as Compose
}

function service(compose: Compose, name: string): Service {
  const found = compose.services[name]
  if (!found) throw new Error(`no service ${name}`)
  return found
}

function problemsOf(compose: Compose): string[] {
  return composeProblems(compose, context, dockerfile)
}

describe('docker-compose.yml', () => {
  it('has no problems', () => {
    expect(problemsOf(composeCopy())).toEqual([])
  })

  it('is valid against the Compose Specification schema', () => {
    const interpolated = interpolate(composeCopy(), context.envExample)
    expect(interpolated.errors).toEqual([])
    expect(composeSchemaProblems(interpolated.value)).toEqual([])
  })

  it('runs the production shape: Kafka, ClickHouse, the four services, two processors, Grafana', () => {
    const compose = composeCopy()
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['kafka', 'clickhouse', 'ingest', 'processor', 'alerter', 'api', 'grafana']),
    )
    expect(service(compose, 'processor').deploy).toEqual({ replicas: 2 })
    for (const name of ['ingest', 'processor', 'alerter', 'api']) {
      expect(service(compose, name).command).toEqual(['node', `services/${name}/src/main.ts`])
    }
  })

  it('fails on a broken file: invalid YAML, a key the specification does not know', () => {
    expect(composeTextProblems('services: [', context, dockerfile)).toEqual([
      expect.stringContaining('not valid YAML'),
    ])
    const compose = composeCopy()
    service(compose, 'api').helthcheck = { test: ['CMD', 'true'] }
    expect(problemsOf(compose)).toContainEqual(expect.stringMatching(/schema: \/services\/api .*helthcheck/))
  })

  it('fails on an image that is not pinned, in the text as committed', () => {
    const broken = composeText.replace('apache/kafka:4.4.0', 'apache/kafka:latest')
    expect(broken).not.toEqual(composeText)
    expect(composeTextProblems(broken, context, dockerfile)).toEqual(
      expect.arrayContaining([
        'kafka: image "apache/kafka:latest" is not pinned to a version (x.y.z or a digest)',
        expect.stringContaining('is not the Kafka of infra/kafka/pom.xml'),
      ]),
    )
    const compose = composeCopy()
    service(compose, 'grafana').image = 'grafana/grafana'
    service(compose, 'clickhouse').image = 'clickhouse/clickhouse-server:25.8'
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('grafana: image "grafana/grafana" is not pinned'),
        expect.stringContaining('clickhouse: image "clickhouse/clickhouse-server:25.8" is not pinned'),
      ]),
    )
  })

  it('fails on a command that runs a missing file, another service, or one the docs do not show', () => {
    const compose = composeCopy()
    service(compose, 'ingest').command = ['node', 'services/ingest/src/mian.ts']
    service(compose, 'alerter').command = ['node', 'services/api/src/main.ts']
    service(compose, 'api').command = 'npm start'
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        'ingest: command runs services/ingest/src/mian.ts, which does not exist',
        'alerter: command runs services/api/src/main.ts, not services/alerter/src/main.ts',
        'api: command ["npm","start"] is not `node <file>`',
      ]),
    )
    const undocumented = composeCopy()
    service(undocumented, 'simulator').command = ['node', 'services/simulator/src/cli.ts', '--live']
    expect(problemsOf(undocumented)).toContainEqual(
      'simulator: docs/deployment.md does not show its command `node services/simulator/src/cli.ts --live`',
    )
  })

  it('fails on an environment variable docs/configuration.md does not document', () => {
    const compose = composeCopy()
    const ingest = service(compose, 'ingest')
    ingest.environment = { ...ingest.environment, CPI_INGEST_TURBO: 'on' }
    const grafana = service(compose, 'grafana')
    grafana.environment = { ...grafana.environment, GF_SERVER_ROOT_URL: 'http://x', GRAFANA_THEME: 'dark' }
    const problems = problemsOf(compose)
    expect(problems).toContainEqual(
      'ingest: environment variable CPI_INGEST_TURBO is not documented in docs/configuration.md',
    )
    expect(problems).toContainEqual(
      'grafana: environment variable GRAFANA_THEME is not documented in docs/configuration.md',
    )
    expect(problems.join('\n')).not.toContain('GF_SERVER_ROOT_URL')
  })

  it('fails on a ${VAR} that .env.example lacks, and on a line of .env.example nothing uses', () => {
    const compose = composeCopy()
    const api = service(compose, 'api')
    api.environment = { ...api.environment, LOG_LEVEL: '${API_LOG_LEVEL:-info}' }
    const context2 = { ...context, envExample: new Map([...context.envExample, ['UNUSED_THING', 'x']]) }
    const problems = composeProblems(compose, context2, dockerfile)
    expect(problems).toEqual(
      expect.arrayContaining([
        '${API_LOG_LEVEL} is used but .env.example has no line for it',
        '${API_LOG_LEVEL} is not documented in docs/configuration.md',
        '.env.example sets UNUSED_THING, which docker-compose.yml never uses',
      ]),
    )
    const withoutSecret = new Map(context.envExample)
    withoutSecret.delete('CLICKHOUSE_PASSWORD')
    expect(
      composeProblems(composeCopy(), { ...context, envExample: withoutSecret }, dockerfile),
    ).toContainEqual(expect.stringContaining('CLICKHOUSE_PASSWORD is required'))
  })

  it('fails on a service environment that is not a valid configuration', () => {
    const compose = composeCopy()
    const processor = service(compose, 'processor')
    processor.environment = { ...processor.environment, CPI_EVENTS_PARTITIONS: 'many', CLICKHOUSE_URL: '' }
    const problems = problemsOf(compose)
    expect(problems).toContainEqual(
      expect.stringMatching(/^processor: its environment is not a valid.*CPI_EVENTS_PARTITIONS/),
    )
    expect(problems).toContainEqual(
      'processor: no CLICKHOUSE_URL, so it would open the embedded engine in the container',
    )
  })

  it('fails on a long-running service without a healthcheck, or a dependency without a condition', () => {
    const compose = composeCopy()
    delete service(compose, 'kafka').healthcheck
    service(compose, 'api').healthcheck = { disable: true }
    service(compose, 'ingest').depends_on = ['kafka']
    service(compose, 'alerter').depends_on = { clickhouse: { condition: 'service_started' } }
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        'kafka: a long-running service without a healthcheck',
        'api: a long-running service without a healthcheck',
        'processor: waits for kafka to be healthy, but kafka has no healthcheck',
        'ingest: depends_on without conditions (use condition: service_healthy)',
        'alerter: depends on clickhouse with service_started, not service_healthy',
        'alerter: uses Kafka but does not wait for it',
      ]),
    )
  })

  it('fails when the processors are not replicas of one service', () => {
    const compose = composeCopy()
    service(compose, 'processor').deploy = { replicas: 1 }
    service(compose, 'processor').ports = ['127.0.0.1:9000:8080']
    compose.services['processor-2'] = { ...service(compose, 'processor') }
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        'processor: 1 replica(s); the production shape runs at least 2',
        'processor: replicas cannot share published host ports',
        'processor-2: a second processor service; scale the one service instead (one consumer group)',
      ]),
    )
  })

  it("fails when Grafana's provisioning or dashboards are not mounted where Grafana reads them", () => {
    const compose = composeCopy()
    const grafana = service(compose, 'grafana')
    grafana.volumes = [
      './infra/grafana/provisioning:/etc/grafana/provisioning:ro',
      './infra/grafana/dashboard:/var/lib/grafana/dashboards:ro',
      'grafana-data:/var/lib/grafana',
    ]
    const environment = { ...grafana.environment }
    delete environment.CLICKHOUSE_PORT
    grafana.environment = environment
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        'grafana: mounts ./infra/grafana/dashboard, which does not exist',
        'grafana: ./infra/grafana/dashboards is not mounted at /var/lib/grafana/dashboards (provisioning/dashboards/cpi.yaml)',
        'grafana: CLICKHOUSE_PORT (read by provisioning/datasources/clickhouse.yaml) is not set',
      ]),
    )
  })

  it('fails on ports open on every interface, writable bind mounts and undeclared volumes', () => {
    const compose = composeCopy()
    service(compose, 'api').ports = ['8080:8080']
    service(compose, 'clickhouse').volumes = [
      'clickhouse-logs:/var/log/clickhouse-server',
      './infra/clickhouse/initdb:/docker-entrypoint-initdb.d',
    ]
    expect(problemsOf(compose)).toEqual(
      expect.arrayContaining([
        'api: port 8080:8080 is published on every interface',
        'clickhouse: volume clickhouse-logs is not declared under volumes',
        'clickhouse: bind mount ./infra/clickhouse/initdb is writable (add :ro)',
        'volume clickhouse-data is declared but no service uses it',
      ]),
    )
  })

  it('fails when SIGKILL would cut the ordered shutdown short', () => {
    const compose = composeCopy()
    service(compose, 'processor').stop_grace_period = '10s'
    expect(problemsOf(compose)).toContainEqual(
      'processor: stop_grace_period (10000 ms) does not leave room for SHUTDOWN_TIMEOUT_MS (15000)',
    )
  })
})

describe('Dockerfile and .dockerignore', () => {
  it('have no problems', () => {
    expect(dockerfileProblems(dockerfile, context)).toEqual([])
  })

  it('build in stages from pinned Node images and run as node with a /healthz healthcheck', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'runtime'])
    const runtime = dockerfile.finalStage()
    expect(runtime?.instructions.filter((each) => each.keyword === 'USER').map((each) => each.args)).toEqual([
      'node',
    ])
    expect(runtime?.env).toMatchObject({ HOST: '0.0.0.0', PORT: '8080' })
  })

  it('fail on a broken copy', () => {
    const broken = (from: string, to: string) => {
      expect(dockerfileText).toContain(from)
      return dockerfileProblems(parseDockerfile(dockerfileText.replace(from, to)), context)
    }
    expect(broken('USER node', '')).toContain('Dockerfile: the runtime stage runs as root (no USER)')
    expect(broken('USER node', 'USER root')).toContain('Dockerfile: the runtime stage runs as root')
    expect(broken('HEALTHCHECK', 'HEALTHCHECK NONE\n#')).toContain(
      'Dockerfile: the runtime stage has no HEALTHCHECK',
    )
    expect(broken('--frozen-lockfile ', '')).toContain('Dockerfile: pnpm install without --frozen-lockfile')
    expect(broken('pnpm@10', 'pnpm@9')).toContainEqual(expect.stringMatching(/^Dockerfile: installs pnpm@9/))
    expect(broken('FROM node:24.21.0-bookworm-slim AS runtime', 'FROM node:24-alpine AS runtime')).toEqual(
      expect.arrayContaining([
        'Dockerfile: FROM node:24-alpine is not pinned to a version',
        "Dockerfile: the runtime stage node:24-alpine is musl-based; chDB's native engine needs glibc",
      ]),
    )
    expect(broken('COPY services ./services', 'COPY service ./services')).toEqual(
      expect.arrayContaining([
        'Dockerfile: COPY service: no such file in the repository',
        'Dockerfile: services/ingest/src/main.ts (needed at run time) is not copied into the image',
      ]),
    )
    const single = dockerfileText.replace(/FROM node:\S+ AS runtime[\s\S]*/, '')
    expect(dockerfileProblems(parseDockerfile(single), context)).toEqual([
      'Dockerfile: not a multi-stage build (a build stage and a runtime stage)',
    ])
    expect(
      dockerfileProblems(dockerfile, { ...context, dockerignore: [...context.dockerignore, 'docs'] }),
    ).toContain('.dockerignore leaves out docs/alerting.md (needed at run time)')
  })
})

describe('the helpers', () => {
  it('interpolate like docker compose', () => {
    const env = new Map([
      ['SET', 'value'],
      ['EMPTY', ''],
    ])
    const { value, variables, errors } = interpolate(
      [
        '${SET}',
        '${UNSET:-d}',
        '${EMPTY:-d}',
        '${EMPTY-d}',
        '$SET/$$HOME',
        '${SET:+alt}',
        '${EMPTY:?needed}',
        '${A-B',
      ],
      env,
    )
    expect(value).toEqual(['value', 'd', 'd', '', 'value/$HOME', 'alt', '', '${A-B'])
    expect([...variables].sort()).toEqual(['EMPTY', 'SET', 'UNSET'])
    expect(errors).toEqual(['[6]: EMPTY is required (needed)'])
  })

  it('tell pinned images, durations, ignored paths and .env lines', () => {
    expect(isPinnedImage('apache/kafka:4.4.0')).toBe(true)
    expect(isPinnedImage(`node@sha256:${'a'.repeat(64)}`)).toBe(true)
    expect(
      ['node', 'node:latest', 'node:24', 'node:24-slim', 'localhost:5000/x'].filter(isPinnedImage),
    ).toEqual([])
    expect(durationMs('1m30s')).toBe(90_000)
    expect(durationMs('500ms')).toBe(500)
    expect(dockerIgnores(['**/node_modules'], 'services/api/node_modules/x')).toBe(true)
    expect(dockerIgnores(['**/*.test.ts', '!keep.test.ts'], 'keep.test.ts')).toBe(false)
    expect(dockerIgnores(['.git'], 'services/.gitkeep')).toBe(false)
    expect(parseEnvFile('# c\nA=1\n\nB=\n  C=x=y\n')).toEqual(
      new Map([
        ['A', '1'],
        ['B', ''],
        ['C', 'x=y'],
      ]),
    )
  })

  it('the ClickHouse init script is valid bash', () => {
    execFileSync('bash', ['-n', `${repoRoot}/infra/clickhouse/initdb/10-dashboard-reader.sh`])
  })
})
