// The OpenAPI 3.1 document served at /v1/openapi.json. A unit test checks that every /v1 route
// the service registers is described here, and nothing more.

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
})
const problem = (description: string) => json(ref('Problem'), description)
const nullable = (type: string) => ({ type: [type, 'null'] })
const time = { type: 'string', format: 'date-time' }
const query = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
})
const common = {
  '400': problem('A parameter is invalid; `details` names each one.'),
  '401': problem('No or a wrong read token.'),
}

const point = {
  type: 'object',
  required: ['windowStart', 'good', 'total', 'pending', 'ratio', 'p50', 'p90', 'p99', 'status'],
  properties: {
    windowStart: time,
    good: { type: 'integer', description: 'Interactions that met the expectation.' },
    total: { type: 'integer', description: 'Interactions whose outcome is known (good + bad).' },
    pending: { type: 'integer', description: 'Interactions not decided yet (deadline ahead).' },
    ratio: { ...nullable('number'), description: 'good / total; null when total is 0.' },
    p50: {
      ...nullable('number'),
      description:
        'Latency percentile in ms over known outcomes, open ones measured up to the watermark (R2); null where the CPI measures none.',
    },
    p90: nullable('number'),
    p99: nullable('number'),
    status: {
      enum: ['provisional', 'final'],
      description: 'provisional while any outcome may still change (R4).',
    },
  },
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'CPI pipeline API',
    version: '1.0.0',
    description:
      'Customer Performance Indicators: the catalog with current values, series per window and segment, alerts and silences, and a live stream. Times are ISO 8601 UTC. Read tokens: `Authorization: Bearer <token>` (or `access_token` in the query for EventSource).',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  paths: {
    '/v1/cpis': {
      get: {
        operationId: 'listCpis',
        summary:
          'The catalog, each CPI with its current value, the previous window, target, health and a sparkline.',
        parameters: [
          query(
            'window',
            'Length of the current window, 1m to 30d (default 1h). The sparkline has 24 such windows.',
          ),
        ],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['asOf', 'window', 'cpis'],
              properties: {
                asOf: time,
                window: { type: 'string' },
                cpis: { type: 'array', items: ref('CpiSummary') },
              },
            },
            'The catalog as of the pipeline watermark.',
          ),
          ...common,
        },
      },
    },
    '/v1/cpis/{name}': {
      get: {
        operationId: 'cpiSeries',
        summary:
          'A series of CPI values; without step one value for the whole range; by groups by a dimension.',
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          query('from', 'ISO 8601 time, epoch ms, now or now-<duration> (default: to − 1h).'),
          query('to', 'Same forms (default now).'),
          query('step', 'Window length: 30s, 5m, 1h, 1d … (at most 10 000 windows).'),
          query('by', "One of the CPI's dimensions: one series per value."),
          query('where', 'dimension:value filters, comma-separated or repeated.'),
        ],
        responses: {
          '200': json(ref('Series'), 'One series per segment (`all` without by).'),
          '404': problem('No CPI of that name.'),
          ...common,
        },
      },
    },
    '/v1/alerts': {
      get: {
        operationId: 'listAlerts',
        summary: 'Alerts by their latest state.',
        parameters: [
          query('state', 'active (default: pending and firing), firing, pending, resolved or all.'),
        ],
        responses: {
          '200': json(
            { type: 'object', properties: { alerts: { type: 'array', items: ref('Alert') } } },
            'Alerts, newest first.',
          ),
          ...common,
        },
      },
    },
    '/v1/silences': {
      get: {
        operationId: 'listSilences',
        summary: 'Every silence with its state (pending, active, expired).',
        responses: {
          '200': json(
            { type: 'object', properties: { silences: { type: 'array', items: ref('Silence') } } },
            'Silences.',
          ),
          ...common,
        },
      },
      post: {
        operationId: 'createSilence',
        summary: 'Silence the notifications of alerts whose labels match every matcher.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['matchers'],
                properties: {
                  matchers: {
                    type: 'array',
                    minItems: 1,
                    items: {
                      type: 'object',
                      required: ['name', 'value'],
                      properties: {
                        name: { type: 'string' },
                        value: { type: 'string' },
                        isRegex: { type: 'boolean' },
                      },
                    },
                  },
                  startsAt: time,
                  endsAt: time,
                  duration: { type: 'string', description: 'Instead of endsAt: 30m, 2h, 1d …' },
                  createdBy: { type: 'string' },
                  comment: { type: 'string' },
                },
              },
            },
          },
        },
        responses: { '201': json(ref('Silence'), 'Created.'), ...common },
      },
    },
    '/v1/silences/{id}': {
      delete: {
        operationId: 'expireSilence',
        summary: 'Expire a silence now (its history stays).',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '204': { description: 'Expired.' },
          '404': problem('No silence with that id.'),
          '401': common['401'],
        },
      },
    },
    '/v1/freshness': {
      get: {
        operationId: 'freshness',
        summary: 'How current the CPIs are: watermark and latest event time per partition, consumer lag.',
        responses: { '200': json(ref('Freshness'), 'Freshness.'), '401': common['401'] },
      },
    },
    '/v1/alert-rules': {
      get: {
        operationId: 'alertRules',
        summary:
          "The alerter's policy and, per CPI, its burn-rate tiers scaled to the objective window, with warnings for tiers that can never fire at the CPI's target.",
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                policy: { type: ['object', 'null'] },
                cpis: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      cpi: { type: 'string' },
                      target: { type: 'number' },
                      objectiveWindow: { type: 'string' },
                      alerting: { enum: ['page', 'ticket', 'none'] },
                      tiers: {
                        type: 'array',
                        items: {
                          type: 'object',
                          properties: {
                            severity: { enum: ['page', 'ticket'] },
                            factor: { type: 'number' },
                            longWindow: { type: 'string' },
                            shortWindow: { type: 'string' },
                            errorRateThreshold: { type: 'number' },
                            budgetShare: { type: 'number' },
                          },
                        },
                      },
                      warnings: { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            },
            'Alert rules.',
          ),
          '401': common['401'],
        },
      },
    },
    '/v1/stream': {
      get: {
        operationId: 'stream',
        summary:
          'Server-Sent Events: `snapshot` ({cpis, alerts, freshness}) first, then `cpi` (a CpiSummary that changed), `alert` (an Alert that changed) and `freshness`, checked every CPI_STREAM_INTERVAL_MS.',
        responses: {
          '200': {
            description: 'An event stream.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '401': common['401'],
        },
      },
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document.',
        responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': {} } } },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Problem: {
        type: 'object',
        required: ['error', 'message'],
        properties: {
          error: { type: 'string' },
          message: { type: 'string' },
          details: {
            type: 'array',
            items: {
              type: 'object',
              properties: { parameter: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
      Point: point,
      CpiSummary: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          displayName: { type: 'string' },
          description: { type: 'string' },
          owner: { type: 'string' },
          shape: { enum: ['latency', 'condition', 'survey'] },
          version: { type: 'integer' },
          dimensions: { type: 'array', items: { type: 'string' } },
          objective: {
            type: 'object',
            properties: { target: { type: 'number' }, window: { type: 'string' } },
          },
          alerting: { enum: ['page', 'ticket', 'none'] },
          leadingIndicators: { type: 'array', items: { type: 'string' } },
          current: { oneOf: [ref('Point'), { type: 'null' }] },
          previous: { oneOf: [ref('Point'), { type: 'null' }] },
          trend: { ...nullable('number'), description: 'current.ratio − previous.ratio' },
          health: { enum: ['ok', 'at_risk', 'breached', 'no_data'] },
          firingAlerts: { type: 'integer' },
          sparkline: {
            type: 'array',
            items: { type: 'object', properties: { windowStart: time, ratio: nullable('number') } },
          },
        },
      },
      Series: {
        type: 'object',
        properties: {
          cpi: { type: 'string' },
          from: time,
          to: time,
          step: nullable('string'),
          by: nullable('string'),
          where: { type: 'object', additionalProperties: { type: 'string' } },
          target: { type: 'number' },
          series: {
            type: 'array',
            items: {
              type: 'object',
              properties: { segment: { type: 'string' }, points: { type: 'array', items: ref('Point') } },
            },
          },
        },
      },
      Alert: {
        type: 'object',
        properties: {
          fingerprint: { type: 'string' },
          labels: {
            type: 'object',
            description: 'alertname, cpi, dimension, segment, severity (page, ticket), rule.',
            additionalProperties: { type: 'string' },
          },
          annotations: {
            type: 'object',
            description: 'summary, description, runbook, dashboard.',
            additionalProperties: { type: 'string' },
          },
          state: { enum: ['pending', 'firing', 'resolved'] },
          activeSince: time,
          firedAt: nullable('string'),
          resolvedAt: nullable('string'),
          value: { type: 'number' },
          threshold: { type: 'number' },
          silenced: { type: 'boolean' },
          silencedBy: { type: 'array', items: { type: 'string' } },
        },
      },
      Silence: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          matchers: { type: 'array', items: { type: 'object' } },
          startsAt: time,
          endsAt: time,
          createdBy: { type: 'string' },
          comment: { type: 'string' },
          state: { enum: ['pending', 'active', 'expired'] },
        },
      },
      Freshness: {
        type: 'object',
        properties: {
          now: time,
          watermark: nullable('string'),
          freshnessMs: { ...nullable('number'), description: 'now − the latest event time processed.' },
          partitions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                partition: { type: 'integer' },
                watermark: time,
                maxEventTime: time,
                updatedAt: time,
              },
            },
          },
          consumerLag: {
            ...nullable('integer'),
            description: 'Messages the processor group has yet to consume.',
          },
        },
      },
    },
  },
} as const
