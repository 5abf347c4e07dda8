/**
 * What really happened in each simulated interaction, in plain data: the simulator draws
 * these first, renders them as events, and computes the ground truth from them, never from
 * the events. Times are milliseconds since the epoch.
 */
export interface Experiment {
  id: string
  variant: string
}

/** When the interaction's follow-up order was placed, when its customer churned (ms). */
export interface Kpi {
  orderAt?: number
  churnAt?: number
}

interface InteractionBase {
  subject: string
  startedAt: number
  customerId: string
  region: string
  experiment?: Experiment
  /** The KPI events this interaction led to (`order.placed`, `customer.churned`), when any. */
  kpi?: Kpi
}

export interface QuoteFact extends InteractionBase {
  kind: 'quote'
  customerType: 'consumer' | 'business'
  channel: string
  product: string
  answer?: { kind: 'issued' | 'declined'; at: number }
  acceptedAt?: number
}

export interface DeliveryFact extends InteractionBase {
  kind: 'delivery'
  promisedBy: number
  items: number
  fragile: boolean
  carrier: string
  delivered?: { at: number; items: number }
  damage?: { at: number; items: number }
}

export type TicketStep =
  | { at: number; type: 'message'; direction: 'inbound' | 'outbound'; author: 'customer' | 'agent' | 'bot' }
  | { at: number; type: 'transferred' | 'resolved' | 'reopened' }

export interface TicketFact extends InteractionBase {
  kind: 'ticket'
  channel: 'phone' | 'email' | 'chat' | 'web'
  category: string
  priority: string
  steps: TicketStep[]
}

export interface CallFact extends InteractionBase {
  kind: 'call'
  queue: string
  end?: { kind: 'answered' | 'abandoned'; at: number }
}

export interface SurveyFact {
  kind: 'survey'
  id: string
  /** The rated interaction. */
  subject: string
  subjectType: 'quote' | 'delivery' | 'ticket' | 'call'
  at: number
  customerId: string
  csat?: number
  nps?: number
  ces?: number
}

export type InteractionFact = QuoteFact | DeliveryFact | TicketFact | CallFact
export type Fact = InteractionFact | SurveyFact
