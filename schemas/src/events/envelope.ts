import { z } from 'zod'
import { dataSchemas, type EventType } from './data.ts'
import { rfc3339, text } from './fields.ts'

/** CloudEvents 1.0 context attributes (structured JSON), with our two extensions. */
const envelope = {
  specversion: z.literal('1.0', { error: '"1.0" (CloudEvents 1.0)' }),
  id: text(256),
  source: text(1024),
  time: rfc3339(),
  subject: text(256),
  datacontenttype: z.literal('application/json', { error: '"application/json" or nothing' }).optional(),
  dataschema: text(1024).optional(),
  experiment: text(128).optional(),
  variant: text(64).optional(),
}

const withData = <T extends EventType>(type: T) =>
  z.looseObject({ ...envelope, type: z.literal(type), data: dataSchemas[type] })

/** For types whose `data` has no required field, producers may leave `data` out. */
const withOptionalData = <T extends EventType>(type: T) =>
  z.looseObject({ ...envelope, type: z.literal(type), data: dataSchemas[type].optional() })

const schemasByType = {
  'quote.requested': withData('quote.requested'),
  'quote.issued': withOptionalData('quote.issued'),
  'quote.declined': withOptionalData('quote.declined'),
  'quote.accepted': withOptionalData('quote.accepted'),
  'delivery.scheduled': withData('delivery.scheduled'),
  'delivery.delivered': withData('delivery.delivered'),
  'delivery.damage_reported': withData('delivery.damage_reported'),
  'ticket.opened': withData('ticket.opened'),
  'ticket.message': withData('ticket.message'),
  'ticket.transferred': withOptionalData('ticket.transferred'),
  'ticket.resolved': withOptionalData('ticket.resolved'),
  'ticket.reopened': withOptionalData('ticket.reopened'),
  'call.queued': withData('call.queued'),
  'call.answered': withOptionalData('call.answered'),
  'call.abandoned': withOptionalData('call.abandoned'),
  'survey.responded': withData('survey.responded'),
  'order.placed': withData('order.placed'),
  'customer.churned': withData('customer.churned'),
  'checkout.started': withData('checkout.started'),
  'checkout.completed': withData('checkout.completed'),
  'checkout.abandoned': withData('checkout.abandoned'),
  'value.credited': withData('value.credited'),
} satisfies { [T in EventType]: z.ZodType }

/** Every v1 event, discriminated by `type`. */
export const cloudEventSchema = z.discriminatedUnion(
  'type',
  Object.values(schemasByType) as unknown as [
    (typeof schemasByType)['quote.requested'],
    ...(typeof schemasByType)[EventType][],
  ],
)

export type CloudEvent = { [T in EventType]: z.infer<(typeof schemasByType)[T]> }[EventType]
export type EventOf<T extends EventType> = z.infer<(typeof schemasByType)[T]>

export function schemaFor(type: EventType) {
  return schemasByType[type]
}
