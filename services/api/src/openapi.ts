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
  '401': problem('No key, or one that is unknown, rotated out or expired.'),
  '403': problem('A valid key without the scope of the route (`read` to read, `admin` to change silences).'),
}

const analyticsRange = [
  query('from', 'Interactions whose first event is at or after this time (default now-30d).'),
  query('to', 'Interactions whose first event is before this time (default now).'),
]
const interval = { type: 'object', properties: { lower: { type: 'number' }, upper: { type: 'number' } } }
const proportion = {
  type: 'object',
  description:
    'A proportion with its Wilson interval (95 %; in experiments 1 − alpha); estimate null without trials.',
  properties: { estimate: nullable('number'), lower: { type: 'number' }, upper: { type: 'number' } },
}
const withRate = {
  type: 'object',
  properties: { successes: { type: 'integer' }, trials: { type: 'integer' }, rate: proportion },
}
const brief = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    displayName: { type: 'string' },
    ratio: nullable('number'),
    target: nullable('number'),
    health: { enum: ['ok', 'at_risk', 'breached', 'no_data'] },
  },
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
      'Customer Performance Indicators: the catalog with current values, series per window and segment, alerts and silences, and a live stream. Times are ISO 8601 UTC. Keys: `Authorization: Bearer <key>` (or, for `GET /v1/stream` only, `access_token` in the query: EventSource cannot send headers), with the scope `read` for reads and `admin` to create or expire silences (a valid key without the scope gets 403).',
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
        description: 'Needs a key with the scope `admin`.',
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
          '403': common['403'],
        },
        description: 'Needs a key with the scope `admin`.',
      },
    },
    '/v1/freshness': {
      get: {
        operationId: 'freshness',
        summary:
          'How current the CPIs are: watermark and latest event time per partition, consumer lag, events stored beyond the revision horizon.',
        responses: { '200': json(ref('Freshness'), 'Freshness.'), '401': common['401'] },
      },
    },
    '/v1/breaching': {
      get: {
        operationId: 'breaching',
        summary:
          'The breach queue: interactions not decided yet whose deadline comes within `within` of their partition’s watermark, soonest first, and how many per CPI and segment.',
        description:
          'Latency CPIs only; deadlines are in working time on a business-hours calendar and moved by paused time. An interaction whose clock is paused is not listed until it resumes. `dueInMs` is negative for one past its deadline that the processor has not decided yet.',
        parameters: [
          query('within', 'How far ahead a deadline may be: a duration from 1m to 7d (default 15m).'),
          query('cpi', 'One latency CPI of the catalog (default: all of them).'),
          query('limit', 'Interactions listed, 1–1000 (default 100); `total` and `counts` count them all.', {
            type: 'integer',
            minimum: 1,
            maximum: 1000,
          }),
        ],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['within', 'total', 'interactions', 'counts'],
              properties: {
                within: { type: 'string' },
                total: { type: 'integer', description: 'Interactions about to breach, over all pages.' },
                interactions: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['cpi', 'subject', 'startedAt', 'deadline', 'dueInMs', 'segments'],
                    properties: {
                      cpi: { type: 'string' },
                      subject: { type: 'string' },
                      startedAt: time,
                      deadline: time,
                      dueInMs: { type: 'integer', description: 'Deadline minus the partition watermark.' },
                      segments: { type: 'object', additionalProperties: { type: 'string' } },
                    },
                  },
                },
                counts: {
                  type: 'array',
                  description: 'Per CPI: the whole CPI (dimension `all`) and each segment value.',
                  items: {
                    type: 'object',
                    properties: {
                      cpi: { type: 'string' },
                      dimension: { type: 'string' },
                      value: { type: 'string' },
                      count: { type: 'integer' },
                    },
                  },
                },
              },
            },
            'The interactions about to breach.',
          ),
          ...common,
        },
      },
    },
    '/v1/prometheus': {
      get: {
        operationId: 'prometheus',
        summary:
          "Every CPI's counts in the Prometheus text format, for SLO tools that compute ratios from counters (Sloth, Pyrra, Grafana SLO) and Alertmanager rules.",
        description:
          'cpi_outcomes_good_total and cpi_outcomes_total (good + bad) as counters of final outcomes, cpi_outcomes_provisional (goods whose follow-up window is open) and cpi_outcomes_pending as gauges, labelled cpi, dimension (`all` for the whole CPI) and value — per dimension the 20 values with the most outcomes, the rest summed under value="(other)" — and cpi_objective_target per CPI (draft CPIs left out). Counts are over all history by cohort; a revision (late data, a recompute) can lower them, which Prometheus reads as a counter reset.',
        responses: {
          '200': {
            description: 'The exposition (text/plain; version=0.0.4).',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          '401': common['401'],
          '403': common['403'],
        },
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
          '503': problem(
            'CPI_STREAM_MAX_CLIENTS streams are open already (`too_many_streams`, with Retry-After), or the server is shutting down.',
          ),
        },
      },
    },
    '/v1/analytics/perception': {
      get: {
        operationId: 'perception',
        summary:
          'Perception vs performance: per CPI, CSAT (top-two-box), NPS and CES of interactions that met the expectation vs those that missed it, the gaps with intervals, and the survey response rate per group.',
        parameters: analyticsRange,
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                from: time,
                to: time,
                note: { type: 'string' },
                cpis: { type: 'array', items: ref('Perception') },
              },
            },
            'One entry per CPI with an interaction domain (survey CPIs are the scores themselves).',
          ),
          ...common,
        },
      },
    },
    '/v1/analytics/linkage': {
      get: {
        operationId: 'linkage',
        summary:
          'CPI → KPI links (observational): quote acceptance by time-to-quote bucket, repeat order within 90 days after an intact vs a broken delivery, churn within 90 days after first-time resolution vs not; Wilson intervals and each group against the first.',
        parameters: analyticsRange,
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                from: time,
                to: time,
                note: { type: 'string', description: 'What observational means here.' },
                links: { type: 'array', items: ref('Link') },
              },
            },
            'The links whose CPI is in the catalog.',
          ),
          ...common,
        },
      },
    },
    '/v1/analytics/experiments': {
      get: {
        operationId: 'experiments',
        summary:
          'Experiments: for interactions carrying `experiment`/`variant`, each arm’s CPI and linked KPI, the difference to the control with interval, two-proportion z-test, p-value, the planned sample size per arm and what is still missing (fixed-horizon design).',
        parameters: [
          ...analyticsRange,
          query('experiment', 'Only this experiment id.'),
          query(
            'mde',
            'Minimum detectable effect: the absolute change of a rate the experiment is sized for (default 0.02).',
            {
              type: 'number',
            },
          ),
          query('alpha', 'Two-sided significance level, (0, 0.2] (default 0.05).', { type: 'number' }),
          query('power', 'Power, [0.5, 1) (default 0.8).', { type: 'number' }),
        ],
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                from: time,
                to: time,
                design: {
                  type: 'object',
                  properties: {
                    minimumDetectableEffect: { type: 'number' },
                    alpha: { type: 'number' },
                    power: { type: 'number' },
                    rule: { type: 'string' },
                  },
                },
                experiments: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      designSource: {
                        enum: ['registered', 'request'],
                        description:
                          'The design applied: registered in CPI_EXPERIMENTS_FILE, or the request parameters.',
                      },
                      description: nullable('string'),
                      conflictingAssignments: {
                        type: 'integer',
                        description:
                          'Interactions whose events carried more than one experiment or variant (the first counts).',
                      },
                      cpis: { type: 'array', items: ref('ExperimentCpi') },
                    },
                  },
                },
              },
            },
            'Every experiment seen in the range, per CPI its interactions count in.',
          ),
          ...common,
        },
      },
    },
    '/v1/analytics/index': {
      get: {
        operationId: 'customerIndex',
        summary:
          'The one customer index every team shares: the weighted mean of the CPIs’ ratios (weights `indexWeight` in the catalog), 0–100, per window for 30 windows and its latest components.',
        parameters: [query('window', 'Window length, 1m to 30d (default 1d).')],
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                asOf: time,
                window: { type: 'string' },
                weights: { type: 'object', additionalProperties: { type: 'number' } },
                current: ref('CustomerIndex'),
                series: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      windowStart: time,
                      value: nullable('number'),
                      lower: nullable('number'),
                      upper: nullable('number'),
                      target: {
                        ...nullable('number'),
                        description:
                          'The weighted target of the CPIs with data in the window (it moves with coverage).',
                      },
                      coverage: { type: 'number' },
                    },
                  },
                },
              },
            },
            'Windows end at the pipeline watermark.',
          ),
          ...common,
        },
      },
    },
    '/v1/analytics/scorecards': {
      get: {
        operationId: 'scorecards',
        summary:
          'Per team (the CPIs’ owner): the CPIs it can move with value, target, health, trend, their leading and lagging indicators beside them, and their points in the customer index.',
        parameters: [query('window', 'Window length, 1m to 30d (default 1d).')],
        responses: {
          '200': json(
            {
              type: 'object',
              properties: {
                asOf: time,
                window: { type: 'string' },
                index: {
                  type: 'object',
                  properties: {
                    value: nullable('number'),
                    lower: nullable('number'),
                    upper: nullable('number'),
                    target: nullable('number'),
                  },
                },
                teams: { type: 'array', items: ref('Scorecard') },
              },
            },
            'Teams in name order.',
          ),
          ...common,
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
          laggingIndicators: {
            type: 'array',
            items: { type: 'string' },
            description: 'CPIs that name this one among their leading indicators.',
          },
          indexWeight: { type: 'number', description: 'Weight in the shared customer index.' },
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
      Difference: {
        type: 'object',
        description:
          'A difference between two groups (B − A, or met − missed) with its interval and two-sided p-value.',
        properties: {
          difference: { type: 'number' },
          interval,
          z: { type: 'number' },
          pValue: { type: 'number' },
        },
      },
      GroupPerception: {
        type: 'object',
        properties: {
          interactions: { type: 'integer' },
          responses: { type: 'integer' },
          responseRate: proportion,
          csat: {
            type: 'object',
            description: 'Top-two-box share (4–5 of 5) with its Wilson interval.',
            properties: {
              ...proportion.properties,
              responses: { type: 'integer' },
              satisfied: { type: 'integer' },
            },
          },
          nps: {
            type: 'object',
            description: 'Net Promoter Score in points, promoters 9–10, detractors 0–6.',
            properties: {
              responses: { type: 'integer' },
              promoters: { type: 'integer' },
              passives: { type: 'integer' },
              detractors: { type: 'integer' },
              score: nullable('number'),
              standardError: nullable('number'),
              lower: { type: 'number' },
              upper: { type: 'number' },
            },
          },
          ces: {
            type: 'object',
            description: 'Customer Effort Score: mean of 1–7.',
            properties: {
              responses: { type: 'integer' },
              mean: nullable('number'),
              standardDeviation: nullable('number'),
              interval: { oneOf: [interval, { type: 'null' }] },
            },
          },
        },
      },
      Perception: {
        type: 'object',
        properties: {
          cpi: { type: 'string' },
          displayName: { type: 'string' },
          subjectType: { type: 'string' },
          met: ref('GroupPerception'),
          missed: ref('GroupPerception'),
          gap: {
            type: 'object',
            description: 'met − missed; null where a group has too few responses.',
            properties: {
              csat: { oneOf: [ref('Difference'), { type: 'null' }] },
              nps: { oneOf: [ref('Difference'), { type: 'null' }] },
              ces: { oneOf: [ref('Difference'), { type: 'null' }] },
            },
          },
          responseRateGap: { oneOf: [ref('Difference'), { type: 'null' }] },
        },
      },
      Link: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          cpi: { type: 'string' },
          kpi: { type: 'string' },
          groupedBy: { type: 'string' },
          higherIsBetter: { type: 'boolean' },
          observational: { const: true },
          groups: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                group: { type: 'string' },
                trials: { type: 'integer' },
                successes: { type: 'integer' },
                followUpComplete: {
                  ...nullable('integer'),
                  description: 'Interactions whose 90-day follow-up has fully passed as of the watermark.',
                },
                rate: proportion,
              },
            },
          },
          comparisons: {
            type: 'array',
            items: {
              allOf: [
                ref('Difference'),
                { type: 'object', properties: { group: { type: 'string' }, versus: { type: 'string' } } },
              ],
            },
          },
        },
      },
      ExperimentCpi: {
        type: 'object',
        properties: {
          cpi: { type: 'string' },
          displayName: { type: 'string' },
          kpi: nullable('string'),
          kpiFollowUpComplete: {
            type: 'object',
            description:
              'Per arm: interactions whose KPI follow-up window has closed (null without a KPI); the others may still convert.',
            additionalProperties: nullable('integer'),
          },
          control: { type: 'string' },
          design: {
            type: 'object',
            properties: {
              alpha: { type: 'number' },
              power: { type: 'number' },
              minimumDetectableEffect: { type: 'number' },
            },
          },
          arms: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                variant: { type: 'string' },
                cpi: withRate,
                kpi: { oneOf: [withRate, { type: 'null' }] },
              },
            },
          },
          comparisons: {
            type: 'array',
            items: {
              allOf: [
                ref('Difference'),
                {
                  type: 'object',
                  properties: {
                    metric: { enum: ['cpi', 'kpi'] },
                    variant: { type: 'string' },
                    versus: { type: 'string' },
                    requiredPerArm: nullable('integer'),
                    remainingPerArm: nullable('integer'),
                    horizonReached: { type: 'boolean' },
                    plannedFromBaseline: {
                      type: 'boolean',
                      description:
                        'The planned size came from the registered baseline (else from the control’s observed rate, which moves).',
                    },
                    atHorizon: {
                      description:
                        'The test on exactly the first requiredPerArm interactions of each arm: what the decision rests on.',
                      oneOf: [
                        {
                          allOf: [
                            ref('Difference'),
                            {
                              type: 'object',
                              properties: {
                                perArm: { type: 'integer' },
                                a: {
                                  type: 'object',
                                  properties: { successes: { type: 'integer' }, trials: { type: 'integer' } },
                                },
                                b: {
                                  type: 'object',
                                  properties: { successes: { type: 'integer' }, trials: { type: 'integer' } },
                                },
                              },
                            },
                          ],
                        },
                        { type: 'null' },
                      ],
                    },
                    decision: {
                      enum: ['collecting', 'significant', 'not_significant'],
                      description:
                        'collecting before the horizon; then the test at the horizon decides, once.',
                    },
                  },
                },
              ],
            },
          },
        },
      },
      CustomerIndex: {
        type: 'object',
        properties: {
          value: nullable('number'),
          lower: nullable('number'),
          upper: nullable('number'),
          target: { ...nullable('number'), description: 'The same weighted mean of the targets.' },
          coverage: { type: 'number', description: 'Share of the total weight whose CPI had data.' },
          components: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                cpi: { type: 'string' },
                weight: { type: 'number' },
                share: { type: 'number' },
                ratio: nullable('number'),
                total: { type: 'integer' },
                contribution: { type: 'number', description: 'Index points this CPI adds.' },
              },
            },
          },
        },
      },
      Scorecard: {
        type: 'object',
        properties: {
          team: { type: 'string' },
          indexPoints: { type: 'number' },
          health: { type: 'object', additionalProperties: { type: 'integer' } },
          cpis: {
            type: 'array',
            items: {
              allOf: [
                brief,
                {
                  type: 'object',
                  properties: {
                    good: { type: 'integer' },
                    total: { type: 'integer' },
                    pending: { type: 'integer' },
                    trend: nullable('number'),
                    firingAlerts: { type: 'integer' },
                    indexWeight: { type: 'number' },
                    indexPoints: { type: 'number' },
                    leading: { type: 'array', items: brief },
                    lagging: { type: 'array', items: brief },
                  },
                },
              ],
            },
          },
        },
      },
      Freshness: {
        type: 'object',
        properties: {
          now: time,
          watermark: nullable('string'),
          alertingWatermark: {
            ...nullable('string'),
            description:
              "The lowest watermark over the events topic's partitions: the event time alerts are evaluated up to.",
          },
          freshnessMs: { ...nullable('number'), description: 'now − the latest event time processed.' },
          partitions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                topic: { type: 'string' },
                partition: { type: 'integer' },
                watermark: time,
                maxEventTime: time,
                updatedAt: time,
              },
            },
          },
          stalled: {
            type: 'array',
            description:
              'Partitions whose PipelineStalled alert fires (CPI_ALERT_STALL_MS without advancing): where alerting waits.',
            items: {
              type: 'object',
              properties: {
                topic: { type: 'string' },
                partition: { type: 'integer' },
                watermark: time,
                since: { ...time, description: 'Wall time the watermark has stood still since.' },
              },
            },
          },
          consumerLag: {
            ...nullable('integer'),
            description: 'Messages the processor group has yet to consume.',
          },
          beyondHorizon: {
            type: 'object',
            required: ['events', 'latestAt'],
            description:
              "Events of the events topic stored beyond the revision horizon (`too_late`: older than their source's latest event on their partition by more than CPI_ALLOWED_LATENESS_MS): kept, counted, left out of the CPIs until `cpi recompute --include-late` brings them in. Read at most every 5 s.",
            properties: {
              events: { type: 'integer', description: 'How many, each event (source, id) once.' },
              latestAt: {
                ...nullable('string'),
                format: 'date-time',
                description: 'When the newest of them was stored; null without any.',
              },
            },
          },
        },
      },
    },
  },
} as const
