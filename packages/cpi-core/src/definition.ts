import { eventTypes } from '@cpi/schemas'
import { z } from 'zod'
import { durationSchema } from './duration.ts'

// A CPI definition is data. Three shapes cover the catalog; a new CPI of an existing shape is a
// new definition, not new code (docs/architecture.md, principle 5).

const eventType = z.enum(eventTypes as [string, ...string[]], {
  error: `one of the v1 event types (${eventTypes.join(', ')})`,
})

/** Matches an event: its type, and optionally values of fields of its `data`. */
const eventMatch = z.object({
  type: eventType,
  where: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
    .default({}),
})
export type EventMatch = z.infer<typeof eventMatch>

/** A segment condition on the start event's data: each field equals one of the values. */
const segmentCondition = z.record(z.string(), z.union([z.string(), z.array(z.string())]))

const calendarName = z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, {
  error: (issue) => `a calendar's snake_case name, e.g. support_berlin, got ${JSON.stringify(issue.input)}`,
})

/**
 * The business-hours calendar the time allowed runs on: one for every interaction, or one per
 * value of a field of the start event's data (region → calendar), `otherwise` for the values not
 * listed; an interaction with no calendar runs on wall time.
 */
const expectationCalendar = z.union(
  [
    calendarName,
    z.object({
      field: z.string().min(1),
      calendars: z.record(z.string(), calendarName),
      otherwise: calendarName.optional(),
    }),
  ],
  {
    error: (issue) =>
      `a calendar's name, or {"field": …, "calendars": {value: name}, "otherwise": name}, got ${JSON.stringify(issue.input)}`,
  },
)
export type ExpectationCalendar = z.infer<typeof expectationCalendar>

const expectation = z.object({
  /** Time allowed from the start event, unless a rule below or `deadlineField` says otherwise. */
  within: durationSchema.optional(),
  /**
   * Business hours for `within` and the rules' times (not for `deadlineField`, a moment): the
   * deadline is that much working time after the start, and the latency is working time too.
   */
  calendar: expectationCalendar.optional(),
  /** A field of the start event's data holding the deadline (RFC 3339), e.g. `promisedBy`. */
  deadlineField: z.string().optional(),
  /** Per-segment expectations: the first rule whose `when` matches applies. */
  rules: z.array(z.object({ when: segmentCondition, within: durationSchema })).default([]),
})

const common = {
  name: z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, { error: 'a snake_case name, e.g. fast_quote' }),
  displayName: z.string().min(1),
  description: z.string().min(1),
  owner: z.string().min(1),
  version: z.int().positive(),
  lifecycle: z.enum(['draft', 'active', 'deprecated']).default('active'),
  /** Segment dimensions: fields of the first event's data. */
  dimensions: z.array(z.string()).default([]),
  objective: z
    .object({
      target: z.number().gt(0).lt(1),
      // 28 days, in ms (a default bypasses the parse, so it is written already parsed).
      window: durationSchema.default(28 * 86_400_000),
      kind: z.enum(['rolling', 'calendar']).default('rolling'),
    })
    .prefault({ target: 0.9 }),
  /** CPIs whose movement comes before this one's (first_reply_2h leads first_time_resolution). */
  leadingIndicators: z.array(z.string()).default([]),
  /** Weight in the one customer index every team shares (0: not part of it). */
  indexWeight: z.number().min(0).default(0),
  alerting: z.enum(['page', 'ticket', 'none']).default('ticket'),
}

export const latencyShape = z.object({
  ...common,
  shape: z.literal('latency'),
  start: eventMatch,
  /** Only interactions whose start event matches these segments count (e.g. email and chat tickets). */
  population: segmentCondition.default({}),
  /** The first of these events completes the interaction. */
  completion: z.array(eventMatch).min(1),
  expectation,
  /**
   * Completion fields that must reach start fields for a success (on_time_in_full:
   * `itemsDelivered` ≥ `items`); a completion that falls short is a failure.
   */
  complete: z.array(z.object({ completionField: z.string(), atLeastStartField: z.string() })).default([]),
  /**
   * Events that end the wait without the outcome (a call abandoned): at or before the deadline
   * they take the interaction out; after it, the wait (the latency) ends there.
   */
  excludeWhen: z.array(eventMatch).default([]),
  /**
   * Events that stop the clock and the events that start it again (a ticket waiting on the
   * customer until the customer replies): paused time counts neither in the latency nor toward
   * the deadline of the time allowed.
   */
  pauses: z.array(z.object({ pause: eventMatch, resume: eventMatch })).default([]),
  percentiles: z.boolean().default(true),
})

export const conditionShape = z.object({
  ...common,
  shape: z.literal('condition'),
  start: eventMatch,
  population: segmentCondition.default({}),
  /** The event the outcome hangs on (resolved, delivered). Pending until it comes. */
  anchor: eventMatch,
  /** The anchor must come within this time of the start, or the interaction is a miss. */
  anchorWithin: durationSchema.optional(),
  /** With no anchor this long after the start's deadline field, the interaction is left out. */
  excludeWithoutAnchorAfter: z.object({ deadlineField: z.string(), plus: durationSchema }).optional(),
  /** Any of these before the anchor, or within the follow-up window after it, fails the interaction. */
  failOn: z.array(eventMatch).default([]),
  /**
   * Any of these before the anchor (and before any failure) leaves the interaction out: it ended
   * for a reason the CPI does not judge (a checkout abandoned before its payment step).
   */
  excludeOn: z.array(eventMatch).default([]),
  /**
   * Fields of the anchor whose value must be one of the values of a start field (a list): paid
   * with a method the checkout offered. An anchor that is not fails the interaction.
   */
  anchorIn: z.array(z.object({ anchorField: z.string().min(1), startField: z.string().min(1) })).default([]),
  /**
   * How long after the anchor a failure still counts (from the anchor's instant on, inclusive);
   * until then a success is provisional. Required, `0s` included: a catalog that misspells it
   * (`followup`) is refused rather than read as no follow-up window.
   */
  followUp: z
    .string({
      error:
        'required: how long after the anchor a failure still counts, a duration such as 7d (0s for none)',
    })
    .pipe(durationSchema),
})

export const surveyShape = z
  .object({
    ...common,
    shape: z.literal('survey'),
    response: eventMatch,
    scoreField: z.string(),
    /** Scores at or above this are good (top box). */
    goodAtLeast: z.number().optional(),
    /**
     * Instead of `goodAtLeast`, a field of the same event holding the bar: a credit is good when
     * its amount reaches what the customer was promised. Events without that field are left out.
     */
    goodAtLeastField: z.string().min(1).optional(),
    /** Further scores reported beside the CPI (NPS, CES means). */
    alsoReports: z.array(z.string()).default([]),
  })
  .refine(
    (definition) => (definition.goodAtLeast === undefined) !== (definition.goodAtLeastField === undefined),
    {
      error: 'exactly one of goodAtLeast (a number) and goodAtLeastField (a field of the event)',
      path: ['goodAtLeast'],
    },
  )

export const cpiDefinitionSchema = z.discriminatedUnion('shape', [latencyShape, conditionShape, surveyShape])

export type CpiDefinition = z.infer<typeof cpiDefinitionSchema>
export type LatencyDefinition = z.infer<typeof latencyShape>
export type ConditionDefinition = z.infer<typeof conditionShape>
export type SurveyDefinition = z.infer<typeof surveyShape>
/** What a definition file contains, before defaults and durations are applied. */
export type CpiDefinitionInput = z.input<typeof cpiDefinitionSchema>
