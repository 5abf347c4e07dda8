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

/** How a checkout ended: paid (with which method), or left at a step (the last one reached). */
export type CheckoutEnd =
  | { kind: 'completed'; at: number; method: string }
  | {
      kind: 'abandoned'
      at: number
      stage: 'cart' | 'details' | 'shipping' | 'payment'
      reason: string
      wanted?: string
    }

export interface CheckoutFact extends InteractionBase {
  kind: 'checkout'
  channel: 'web' | 'app' | 'store' | 'phone'
  product: string
  /** The payment methods the checkout offered. */
  offered: string[]
  /** The method the customer wanted to pay with. */
  preferred: string
  /** When the session lapses. */
  expiresAt: number
  /** None: the session lapsed with no word of how (left out of payment_flexibility). */
  end?: CheckoutEnd
}

/** One credit of value to a customer: money or time saved, service used, an outcome obtained. */
export interface ValueFact {
  kind: 'value'
  /** The credit's own id: its event's subject and id. */
  subject: string
  at: number
  customerId: string
  region: string
  product: string
  valueKind: 'savings' | 'usage' | 'outcome'
  amount: number
  /** `EUR` for money, else the measure. */
  unit: string
  /** What the customer was promised for it, in the same unit (none for some credits). */
  promised?: number
  period: string
}

export type InteractionFact = QuoteFact | DeliveryFact | TicketFact | CallFact
export type Fact = InteractionFact | SurveyFact | CheckoutFact | ValueFact
