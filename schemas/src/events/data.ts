import { z } from 'zod'
import { amount, currency, integerAtLeast, integerBetween, oneOf, rfc3339, text } from './fields.ts'

// The `data` of each v1 event type. Objects are loose: fields we do not
// know are kept, never rejected (forward compatibility).

/** Segment fields any first event of an interaction may carry. */
const segments = {
  customerId: text().optional(),
  channel: text(64).optional(),
  region: text(64).optional(),
  product: text(128).optional(),
}

export const quoteChannels = ['web', 'phone', 'agent', 'broker', 'partner'] as const
export const ticketChannels = ['phone', 'email', 'chat', 'web'] as const
export const checkoutChannels = ['web', 'app', 'store', 'phone'] as const
/** The steps of a checkout, in order; an abandonment names the last one the customer reached. */
export const checkoutStages = ['cart', 'details', 'shipping', 'payment'] as const
/** What a credit to the customer is: money or time saved, service used, an outcome obtained. */
export const valueKinds = ['savings', 'usage', 'outcome'] as const

/** A payment method's name as the shop offers it (`card`, `paypal`, `invoice`, `instalments`). */
const paymentMethod = () =>
  z
    .string({ error: 'a payment method name of 1 to 64 characters (a-z, 0-9, _ and -)' })
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
      error: 'a payment method name of 1 to 64 characters (a-z, 0-9, _ and -)',
    })

export const dataSchemas = {
  'quote.requested': z.looseObject({
    ...segments,
    customerId: text(),
    customerType: oneOf(['consumer', 'business']),
    channel: oneOf(quoteChannels).optional(),
  }),
  'quote.issued': z.looseObject({ amount: amount().optional(), currency: currency().optional() }),
  'quote.declined': z.looseObject({ reason: text(512).optional() }),
  'quote.accepted': z.looseObject({ amount: amount().optional(), currency: currency().optional() }),
  'delivery.scheduled': z.looseObject({
    ...segments,
    customerId: text(),
    promisedBy: rfc3339(),
    items: integerAtLeast(1),
    fragile: z.boolean({ error: 'true or false' }).optional(),
    carrier: text(64).optional(),
  }),
  'delivery.delivered': z.looseObject({ itemsDelivered: integerAtLeast(0) }),
  'delivery.damage_reported': z.looseObject({
    itemsDamaged: integerAtLeast(1),
    reason: text(512).optional(),
  }),
  'ticket.opened': z.looseObject({
    ...segments,
    customerId: text(),
    channel: oneOf(ticketChannels),
    category: text(64).optional(),
    priority: text(32).optional(),
  }),
  'ticket.message': z.looseObject({
    direction: oneOf(['inbound', 'outbound']),
    author: oneOf(['customer', 'agent', 'bot']),
    channel: text(64).optional(),
  }),
  'ticket.transferred': z.looseObject({ toTeam: text(128).optional() }),
  'ticket.resolved': z.looseObject({}),
  'ticket.reopened': z.looseObject({}),
  'call.queued': z.looseObject({ ...segments, queue: text(128) }),
  'call.answered': z.looseObject({}),
  'call.abandoned': z.looseObject({}),
  'survey.responded': z.looseObject({
    subjectType: oneOf(['quote', 'delivery', 'ticket', 'call']),
    customerId: text().optional(),
    csat: integerBetween(1, 5).optional(),
    nps: integerBetween(0, 10).optional(),
    ces: integerBetween(1, 7).optional(),
  }),
  'order.placed': z.looseObject({
    customerId: text(),
    amount: amount().optional(),
    currency: currency().optional(),
  }),
  'customer.churned': z.looseObject({ customerId: text() }),
  'checkout.started': z.looseObject({
    ...segments,
    customerId: text(),
    channel: oneOf(checkoutChannels).optional(),
    /**
     * The payment methods this checkout offers the customer, as the customer saw them. Of an
     * interaction's checkout.started events only the first one's list is read.
     */
    offeredMethods: z
      .array(paymentMethod(), { error: 'an array of 1 to 32 payment method names' })
      .min(1, { error: 'an array of 1 to 32 payment method names' })
      .max(32, { error: 'an array of 1 to 32 payment method names' }),
    /**
     * When the checkout session lapses: past it, with no completion or abandonment yet, it is left
     * out while nothing comes (one that comes later still decides it).
     */
    expiresAt: rfc3339(),
    amount: amount().optional(),
    currency: currency().optional(),
  }),
  'checkout.completed': z.looseObject({
    paymentMethod: paymentMethod(),
    amount: amount().optional(),
    currency: currency().optional(),
  }),
  'checkout.abandoned': z.looseObject({
    stage: oneOf(checkoutStages),
    reason: text(512).optional(),
    /** The method the customer asked for or tried to find, when known (an exit survey, a chat). */
    wantedMethod: paymentMethod().optional(),
  }),
  'value.credited': z.looseObject({
    ...segments,
    customerId: text(),
    kind: oneOf(valueKinds),
    amount: amount(),
    /** An ISO 4217 code for money (`EUR`), else the measure (`kWh`, `hours`, `claims`). */
    unit: text(32),
    /** What the customer was promised for this credit, in the same unit: the CPI's bar. */
    promised: amount().optional(),
    /** The period the credit covers, as the producer names it (`2026-11`). */
    period: text(64).optional(),
  }),
} as const

export type EventType = keyof typeof dataSchemas
export const eventTypes = Object.keys(dataSchemas) as EventType[]
