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
} as const

export type EventType = keyof typeof dataSchemas
export const eventTypes = Object.keys(dataSchemas) as EventType[]
