import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Ajv, { type ValidateFunction } from 'ajv'
import { parse as parseForm } from 'qs'

/**
 * A local Stripe-compatible server for the operations the Stripe adapter uses, holding payment
 * intents, charges, refunds, transfers, reversals and accounts in memory. Every request and every
 * answer is checked against Stripe's published OpenAPI description of those operations
 * (fixtures/stripe-openapi-subset.json): a request that breaks it is answered 400 as Stripe would,
 * and each breach either way is kept in `violations`, for tests to assert there are none.
 */

/** Payment methods of Stripe's test mode the server knows; any other one pays. */
export const STRIPE_TEST_PAYMENT_METHODS = {
  pays: 'pm_card_visa',
  declined: 'pm_card_chargeDeclined',
  /** Needs 3-D Secure: the intent waits in `requires_action`. */
  authenticationRequired: 'pm_card_authenticationRequired'
} as const

export interface StripeSpecViolation {
  /** `POST /v1/payment_intents`, or the event type for an event. */
  operation: string
  part: 'request' | 'response' | 'event' | 'operation'
  errors: string[]
}

export interface StripeRequestRecord {
  method: string
  path: string
  idempotencyKey?: string
  replayed: boolean
  status: number
}

type StripeObject = Record<string, unknown> & { id: string }
type Params = Record<string, unknown>
type Answer = { status: number; body: unknown }

interface Operation {
  method: string
  template: string
  pattern: RegExp
  validateBody?: ValidateFunction
  queryParameters: Map<string, ValidateFunction>
  requiredQuery: string[]
  validateAnswer: (status: number) => ValidateFunction
}

const SPEC_ID = 'stripe-openapi'
const fixturePath = join(__dirname, '..', 'fixtures', 'stripe-openapi-subset.json')

/** OpenAPI 3.0's `nullable` as JSON Schema says it (`anyOf` with null), for Ajv. */
const withNullable = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withNullable)
  if (node === null || typeof node !== 'object') return node
  const { nullable, ...rest } = node as Record<string, unknown>
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, withNullable(value)]))
  return nullable === true ? { anyOf: [converted, { type: 'null' }] } : converted
}

const pointer = (...segments: string[]) =>
  segments.map((segment) => encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')

const newValidators = (coerceTypes: boolean) => {
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes, validateSchema: false })
  // Stripe's own formats: epoch seconds (an integer already) and decimal strings.
  ajv.addFormat('unix-time', true).addFormat('decimal', true)
  return ajv
}

/** The operations of the fixture, each with its request and answer validators, and the validator of webhook events. */
const loadSpecification = (): { operations: Operation[]; validateEvent: ValidateFunction } => {
  const spec = withNullable(JSON.parse(readFileSync(fixturePath, 'utf8'))) as {
    paths: Record<
      string,
      Record<
        string,
        { parameters?: Array<{ name: string; in: string; required?: boolean }>; requestBody?: unknown; responses: Record<string, unknown> }
      >
    >
  }
  // Form values arrive as text: the request validator reads them as the schema's types, as Stripe does.
  const requests = newValidators(true).addSchema(spec, SPEC_ID)
  const answers = newValidators(false).addSchema(spec, SPEC_ID)
  const at = (ajv: Ajv, ...segments: string[]) => ajv.compile({ $ref: `${SPEC_ID}#/${pointer(...segments)}` })
  const operations = Object.entries(spec.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const query = (operation.parameters ?? []).map((parameter, index) => ({ ...parameter, index })).filter((parameter) => parameter.in === 'query')
      // Compiled now, not at the first answer: Stripe's schemas are large, and compiling one in
      // the middle of a test would stall the test's process for seconds.
      const answerValidators = new Map(
        Object.keys(operation.responses).map((key) => [
          key,
          at(answers, 'paths', template, method, 'responses', key, 'content', 'application/json', 'schema')
        ])
      )
      return {
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
        // Stripe's description gives GET operations an (empty) form body too: their parameters are the query's.
        validateBody:
          method === 'post' && operation.requestBody
            ? at(requests, 'paths', template, method, 'requestBody', 'content', 'application/x-www-form-urlencoded', 'schema')
            : undefined,
        queryParameters: new Map(
          query.map(({ name, index }) => [name, at(requests, 'paths', template, method, 'parameters', String(index), 'schema')])
        ),
        requiredQuery: query.filter(({ required }) => required).map(({ name }) => name),
        validateAnswer: (status: number) =>
          answerValidators.get(String(status) in operation.responses ? String(status) : 'default') as ValidateFunction
      }
    })
  )
  // A fixed path before a template that also matches it (`/v1/payment_intents/search`, not `{intent}`).
  operations.sort((a, b) => Number(a.template.includes('{')) - Number(b.template.includes('{')))
  return { operations, validateEvent: answers.compile({ $ref: `${SPEC_ID}#/components/schemas/event` }) }
}

const errorsOf = (validate: ValidateFunction) =>
  (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`.trim())

const now = () => Math.floor(Date.now() / 1000)
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

/** Stripe's error answer. */
const stripeError = (status: number, type: string, message: string, extra: Params = {}): Answer => ({
  status,
  body: { error: { type, message, ...extra } }
})

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })

/** The Stripe-Signature header of `payload` signed at `timestamp` (epoch s) with `secret`, as Stripe signs webhooks. */
export const stripeSignature = (payload: string, secret: string, timestamp = now()) =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`

export interface StripeServerOptions {
  /** The signing secret of the webhook endpoint the server signs events with. */
  webhookSecret?: string
}

/** One attempt to post an event to the webhook endpoint (`sendWebhooksTo`), and what the endpoint answered. */
export interface StripeWebhookDelivery {
  eventId: string
  type: string
  /** The id of the event's object (the payment intent, account, transfer). */
  objectId: string
  /** The endpoint's status, or 0 when it could not be reached. */
  status: number
  /** The endpoint's answer, as JSON when it is. */
  body: unknown
  /** Posted while the API call that caused the event had not been answered yet (`faults.webhooksBeforeAnswers`). */
  beforeAnswer: boolean
}

// As Stripe does, an event the endpoint did not take (no 2xx) is posted again, here sooner.
const WEBHOOK_RETRY_DELAYS_MS = [200, 500, 1_000, 2_000, 5_000]
const WEBHOOK_TIMEOUT_MS = 10_000
const CAPTURE_PATH = /^\/v1\/payment_intents\/([^/]+)\/capture$/

export const startStripeServer = async ({ webhookSecret = `whsec_${randomBytes(16).toString('hex')}` }: StripeServerOptions = {}) => {
  const { operations, validateEvent } = loadSpecification()
  const violations: StripeSpecViolation[] = []
  const requests: StripeRequestRecord[] = []
  const events: StripeObject[] = []
  const intents = new Map<string, StripeObject>()
  const charges = new Map<string, StripeObject>()
  const refunds = new Map<string, StripeObject>()
  const transfers = new Map<string, StripeObject>()
  const accounts = new Map<string, StripeObject>()
  const idempotent = new Map<string, { fingerprint: string; answer: Answer }>()
  /**
   * What tests make go wrong: `lostAnswers` (the next N requests are done and their answers lost;
   * only those to paths starting with `lostAnswersTo` when it is set),
   * `unavailable` (the next N are answered 503), `capturesLost` (the next N payment intents captured
   * are captured and every answer to their capture, repeats with its key included, is lost; their
   * `payment_intent.succeeded` is withheld until `releaseWithheldWebhooks`), `authorizationsLost`
   * (likewise for the next N payment intents created: every answer to their creation is lost, their
   * `payment_intent.amount_capturable_updated` withheld), `searchLagMs` (search finds a payment
   * intent only this long after its creation: Stripe's search is eventually consistent),
   * `webhooksBeforeAnswers` (the events a request causes are posted to the webhook endpoint, and
   * answered, before the request's own answer goes out).
   */
  const faults = {
    lostAnswers: 0,
    lostAnswersTo: '',
    unavailable: 0,
    capturesLost: 0,
    authorizationsLost: 0,
    searchLagMs: 0,
    webhooksBeforeAnswers: false
  }
  /** The payment intents whose capture answers are lost for good (`faults.capturesLost`). */
  const answerlessCaptures = new Set<string>()
  /** The payment intents whose creation's answers are lost for good (`faults.authorizationsLost`), and the keys of their creation. */
  const answerlessAuthorizations = new Set<string>()
  const answerlessCreationKeys = new Set<string>()
  /** Set while a creation whose answers are lost runs: the authorization it makes is not told by webhook. */
  let losingCreation = false
  /** When each payment intent was created (ms): what search finds depends on it (`faults.searchLagMs`). */
  const createdAtMs = new Map<string, number>()
  const webhooks = {
    endpoint: undefined as string | undefined,
    deliveries: [] as StripeWebhookDelivery[],
    /** Events caused by the request being performed, posted before its answer (`faults.webhooksBeforeAnswers`). */
    early: undefined as StripeObject[] | undefined,
    withheld: [] as StripeObject[],
    /** Events not yet taken by the endpoint (being posted, or waiting for another attempt). */
    outstanding: 0,
    closed: false
  }

  const emit = (type: string, object: StripeObject) => {
    const event: StripeObject = {
      id: newId('evt'),
      object: 'event',
      api_version: '2023-08-16',
      created: now(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type
    }
    if (!validateEvent(event)) violations.push({ operation: type, part: 'event', errors: errorsOf(validateEvent) })
    events.push(event)
    if (webhooks.endpoint) {
      const answerless =
        (type === 'payment_intent.succeeded' && answerlessCaptures.has(object.id)) ||
        (type === 'payment_intent.amount_capturable_updated' && (losingCreation || answerlessAuthorizations.has(object.id)))
      if (answerless) webhooks.withheld.push(event)
      else if (webhooks.early) webhooks.early.push(event)
      else void deliverUntilTaken(event)
    }
    return event
  }

  /** Posts the event to the endpoint once: whether it was taken (a 2xx). */
  const post = async (event: StripeObject, beforeAnswer: boolean) => {
    const { rawBody, headers } = signed(event)
    const record: StripeWebhookDelivery = {
      eventId: event.id,
      type: event.type as string,
      objectId: (event.data as { object: StripeObject }).object.id,
      status: 0,
      body: undefined,
      beforeAnswer
    }
    try {
      const response = await fetch(webhooks.endpoint as string, {
        method: 'POST',
        headers,
        body: new Uint8Array(rawBody),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)
      })
      const text = await response.text()
      record.status = response.status
      try {
        record.body = JSON.parse(text)
      } catch {
        record.body = text
      }
    } catch (error) {
      record.body = (error as Error).message
    }
    webhooks.deliveries.push(record)
    return record.status >= 200 && record.status < 300
  }

  /** Posts the event until the endpoint takes it (or the server closes), as Stripe retries a webhook; `beforeAnswer` for the first attempt. */
  const deliverUntilTaken = async (event: StripeObject, beforeAnswer = false) => {
    webhooks.outstanding++
    try {
      for (let attempt = 0; !webhooks.closed; attempt++) {
        if (await post(event, beforeAnswer && attempt === 0)) return
        await new Promise((resolve) => setTimeout(resolve, WEBHOOK_RETRY_DELAYS_MS[Math.min(attempt, WEBHOOK_RETRY_DELAYS_MS.length - 1)]))
      }
    } finally {
      webhooks.outstanding--
    }
  }

  const paymentIntent = (params: Params): StripeObject => ({
    id: newId('pi'),
    object: 'payment_intent',
    amount: params.amount,
    amount_capturable: 0,
    amount_received: 0,
    automatic_payment_methods: (params.automatic_payment_methods as Params | undefined) ?? null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: params.capture_method ?? 'automatic',
    client_secret: null,
    confirmation_method: 'automatic',
    created: now(),
    currency: params.currency,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: params.metadata ?? {},
    next_action: null,
    payment_method: params.payment_method ?? null,
    payment_method_types: ['card'],
    status: 'requires_payment_method',
    transfer_group: params.transfer_group ?? null
  })

  const charge = (intent: StripeObject): StripeObject => {
    const made: StripeObject = {
      id: newId('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_captured: 0,
      amount_refunded: 0,
      billing_details: { address: null, email: null, name: null, phone: null },
      captured: false,
      created: now(),
      currency: intent.currency,
      disputed: false,
      livemode: false,
      metadata: {},
      paid: true,
      payment_intent: intent.id,
      refunded: false,
      status: 'succeeded',
      transfer_group: intent.transfer_group
    }
    charges.set(made.id, made)
    return made
  }

  const confirm = (intent: StripeObject): Answer => {
    const method = intent.payment_method
    if (method === STRIPE_TEST_PAYMENT_METHODS.declined) {
      const error = { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' }
      Object.assign(intent, { last_payment_error: error, payment_method: null, status: 'requires_payment_method' })
      emit('payment_intent.payment_failed', intent)
      return stripeError(402, 'card_error', error.message, { code: error.code, decline_code: error.decline_code, payment_intent: intent })
    }
    if (method === STRIPE_TEST_PAYMENT_METHODS.authenticationRequired) {
      Object.assign(intent, { status: 'requires_action', next_action: { type: 'use_stripe_sdk', use_stripe_sdk: {} } })
      return { status: 200, body: intent }
    }
    const made = charge(intent)
    Object.assign(intent, {
      status: intent.capture_method === 'manual' ? 'requires_capture' : 'succeeded',
      amount_capturable: intent.capture_method === 'manual' ? intent.amount : 0,
      latest_charge: made.id
    })
    emit(intent.capture_method === 'manual' ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded', intent)
    return { status: 200, body: intent }
  }

  const missing = (kind: string, id: string) => stripeError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, { code: 'resource_missing' })
  const unexpectedState = (intent: StripeObject, action: string) =>
    stripeError(400, 'invalid_request_error', `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`, {
      code: 'payment_intent_unexpected_state',
      payment_intent: intent
    })

  /** What each operation does, by `METHOD template`. */
  const handlers: Record<string, (params: Params, ids: string[]) => Answer> = {
    'POST /v1/payment_intents': (params) => {
      const intent = paymentIntent(params)
      intent.client_secret = `${intent.id}_secret_${randomBytes(8).toString('hex')}`
      intents.set(intent.id, intent)
      createdAtMs.set(intent.id, Date.now())
      return params.confirm === true && params.payment_method ? confirm(intent) : { status: 200, body: intent }
    },
    'GET /v1/payment_intents/{intent}': (_, [id]) => {
      const intent = intents.get(id)
      return intent ? { status: 200, body: intent } : missing('payment_intent', id)
    },
    'GET /v1/payment_intents/search': (params) => {
      // The one form of query the adapter asks: metadata['key']:'value'.
      const query = /^metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'$/.exec(String(params.query))
      if (!query) return stripeError(400, 'invalid_request_error', `This server only searches metadata['key']:'value', not ${String(params.query)}`)
      const value = query[2].replace(/\\(.)/g, '$1')
      const searchable = Date.now() - faults.searchLagMs
      const found = [...intents.values()].filter(
        (intent) => (intent.metadata as Record<string, string>)[query[1]] === value && (createdAtMs.get(intent.id) ?? 0) <= searchable
      )
      return {
        status: 200,
        body: {
          object: 'search_result',
          data: found.slice(0, Number(params.limit ?? 10)),
          has_more: false,
          next_page: null,
          url: '/v1/payment_intents/search'
        }
      }
    },
    'POST /v1/payment_intents/{intent}/capture': (params, [id]) => {
      const intent = intents.get(id)
      if (!intent) return missing('payment_intent', id)
      if (intent.status !== 'requires_capture') return unexpectedState(intent, 'capture')
      const amount = (params.amount_to_capture as number | undefined) ?? (intent.amount_capturable as number)
      if (amount > (intent.amount_capturable as number)) {
        return stripeError(400, 'invalid_request_error', 'amount_to_capture must be less than or equal to the amount capturable', {
          param: 'amount_to_capture'
        })
      }
      Object.assign(charges.get(intent.latest_charge as string) as StripeObject, { amount_captured: amount, captured: true })
      Object.assign(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 })
      emit('payment_intent.succeeded', intent)
      return { status: 200, body: intent }
    },
    'POST /v1/payment_intents/{intent}/cancel': (params, [id]) => {
      const intent = intents.get(id)
      if (!intent) return missing('payment_intent', id)
      if (['succeeded', 'canceled'].includes(intent.status as string)) return unexpectedState(intent, 'cancel')
      Object.assign(intent, { status: 'canceled', canceled_at: now(), cancellation_reason: params.cancellation_reason ?? null, amount_capturable: 0 })
      emit('payment_intent.canceled', intent)
      return { status: 200, body: intent }
    },
    'POST /v1/refunds': (params) => {
      const intent = intents.get(String(params.payment_intent))
      if (!intent) return missing('payment_intent', String(params.payment_intent))
      const paid = charges.get(intent.latest_charge as string)
      if (intent.status !== 'succeeded' || !paid) return unexpectedState(intent, 'refund')
      const amount = (params.amount as number | undefined) ?? (paid.amount_captured as number) - (paid.amount_refunded as number)
      if (amount > (paid.amount_captured as number) - (paid.amount_refunded as number)) {
        return stripeError(400, 'invalid_request_error', `Refund amount (${amount}) is greater than unrefunded amount on charge`, { param: 'amount' })
      }
      Object.assign(paid, { amount_refunded: (paid.amount_refunded as number) + amount })
      paid.refunded = paid.amount_refunded === paid.amount_captured
      const refund: StripeObject = {
        id: newId('re'),
        object: 'refund',
        amount,
        charge: paid.id,
        created: now(),
        currency: intent.currency,
        metadata: params.metadata ?? {},
        payment_intent: intent.id,
        status: 'succeeded'
      }
      refunds.set(refund.id, refund)
      return { status: 200, body: refund }
    },
    'POST /v1/transfers': (params) => {
      const destination = String(params.destination)
      if (!accounts.has(destination)) return missing('account', destination)
      const source = params.source_transaction === undefined ? undefined : charges.get(String(params.source_transaction))
      if (params.source_transaction !== undefined && !source) return missing('charge', String(params.source_transaction))
      if (source && (params.amount as number) > (source.amount_captured as number)) {
        return stripeError(400, 'invalid_request_error', 'The transfer amount exceeds the source transaction', { param: 'amount' })
      }
      const id = newId('tr')
      const transfer: StripeObject = {
        id,
        object: 'transfer',
        amount: params.amount,
        amount_reversed: 0,
        created: now(),
        currency: params.currency,
        destination,
        livemode: false,
        metadata: params.metadata ?? {},
        reversals: { object: 'list', data: [], has_more: false, url: `/v1/transfers/${id}/reversals` },
        reversed: false,
        source_transaction: source?.id ?? null,
        transfer_group: params.transfer_group ?? null
      }
      transfers.set(id, transfer)
      emit('transfer.created', transfer)
      return { status: 200, body: transfer }
    },
    'POST /v1/transfers/{id}/reversals': (params, [id]) => {
      const transfer = transfers.get(id)
      if (!transfer) return missing('transfer', id)
      const left = (transfer.amount as number) - (transfer.amount_reversed as number)
      const amount = (params.amount as number | undefined) ?? left
      if (amount > left)
        return stripeError(400, 'invalid_request_error', `Reversal amount (${amount}) exceeds what is left of the transfer`, { param: 'amount' })
      const reversal: StripeObject = {
        id: newId('trr'),
        object: 'transfer_reversal',
        amount,
        created: now(),
        currency: transfer.currency,
        metadata: params.metadata ?? {},
        transfer: id
      }
      const list = transfer.reversals as { data: StripeObject[] }
      list.data.push(reversal)
      Object.assign(transfer, { amount_reversed: (transfer.amount_reversed as number) + amount, reversed: amount === left })
      emit('transfer.reversed', transfer)
      return { status: 200, body: reversal }
    },
    'POST /v1/accounts': (params) => {
      const due = ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip']
      const account: StripeObject = {
        id: newId('acct'),
        object: 'account',
        capabilities: { transfers: 'inactive' },
        charges_enabled: false,
        country: params.country ?? 'US',
        created: now(),
        default_currency: 'usd',
        details_submitted: false,
        email: params.email ?? null,
        metadata: params.metadata ?? {},
        payouts_enabled: false,
        requirements: {
          alternatives: [],
          current_deadline: null,
          currently_due: due,
          disabled_reason: 'requirements.past_due',
          errors: [],
          eventually_due: due,
          past_due: due,
          pending_verification: []
        },
        type: params.type ?? 'standard'
      }
      accounts.set(account.id, account)
      return { status: 200, body: account }
    },
    'POST /v1/account_links': (params) => {
      const account = String(params.account)
      if (!accounts.has(account)) return missing('account', account)
      return {
        status: 200,
        body: { object: 'account_link', created: now(), expires_at: now() + 300, url: `${url}/setup/e/${account}/${randomBytes(8).toString('hex')}` }
      }
    }
  }

  const answer = (response: ServerResponse, { status, body }: Answer, replayed = false) => {
    response.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), ...(replayed && { 'idempotent-replayed': 'true' }) })
    response.end(JSON.stringify(body))
  }

  /** The answer to a request of `operation`, checked against the spec both ways. */
  const perform = (operation: Operation, ids: string[], params: Params, label: string): Answer & { executed: boolean } => {
    const problems: string[] = []
    if (operation.validateBody && !operation.validateBody(params)) problems.push(...errorsOf(operation.validateBody))
    if (!operation.validateBody) {
      for (const [name, value] of Object.entries(params)) {
        const validate = operation.queryParameters.get(name)
        if (!validate) problems.push(`received unknown parameter: ${name}`)
        else if (!validate(value)) problems.push(...errorsOf(validate).map((error) => `${name}${error.replace('(root)', '')}`))
      }
      problems.push(...operation.requiredQuery.filter((name) => !(name in params)).map((name) => `missing required parameter: ${name}`))
    }
    if (problems.length > 0) {
      violations.push({ operation: label, part: 'request', errors: problems })
      return { ...stripeError(400, 'invalid_request_error', `Invalid request: ${problems.join('; ')}`), executed: false }
    }
    const result = handlers[`${operation.method} ${operation.template}`](params, ids)
    // What goes out is JSON: checked as the client will read it.
    const sent = JSON.parse(JSON.stringify(result.body))
    const validate = operation.validateAnswer(result.status)
    if (!validate(sent)) violations.push({ operation: label, part: 'response', errors: errorsOf(validate) })
    return { status: result.status, body: sent, executed: true }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const { pathname, search } = new URL(request.url ?? '/', 'http://stripe.local')
    const method = request.method ?? 'GET'
    const label = `${method} ${pathname}`
    const raw = await readBody(request)
    const idempotencyKey = method === 'POST' ? (request.headers['idempotency-key'] as string | undefined) : undefined
    const record = (status: number, replayed = false) => requests.push({ method, path: pathname, idempotencyKey, replayed, status })

    if (!/^Bearer sk_(test|live)_\w+$/.test(request.headers.authorization ?? '')) {
      record(401)
      return answer(response, stripeError(401, 'invalid_request_error', 'Invalid API Key provided'))
    }
    const found = operations
      .map((operation) => ({ operation, match: operation.method === method ? operation.pattern.exec(pathname) : null }))
      .find(({ match }) => match)
    if (!found?.match) {
      violations.push({ operation: label, part: 'operation', errors: ['not an operation of the fixture'] })
      record(404)
      return answer(response, stripeError(404, 'invalid_request_error', `Unrecognized request URL (${label})`))
    }
    if (faults.unavailable > 0) {
      faults.unavailable--
      record(503)
      return answer(response, stripeError(503, 'api_error', 'Stripe is temporarily unavailable'))
    }
    const stored = idempotencyKey === undefined ? undefined : idempotent.get(idempotencyKey)
    const fingerprint = `${label}?${raw}`
    const capturing = method === 'POST' ? CAPTURE_PATH.exec(pathname)?.[1] : undefined
    // Marked before the capture is made, so that its payment_intent.succeeded is withheld too.
    const losesCapture = capturing !== undefined && !stored && faults.capturesLost > 0 && !answerlessCaptures.has(capturing)
    if (losesCapture) answerlessCaptures.add(capturing)
    losingCreation =
      method === 'POST' && pathname === '/v1/payment_intents' && !stored && idempotencyKey !== undefined && faults.authorizationsLost > 0
    const losesCreation = losingCreation
    if (faults.webhooksBeforeAnswers && webhooks.endpoint) webhooks.early = []
    let result: Answer
    if (stored) {
      result =
        stored.fingerprint === fingerprint
          ? stored.answer
          : stripeError(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.')
    } else {
      const params = parseForm(method === 'POST' ? raw : search.slice(1), { depth: 10, arrayLimit: 100 }) as Params
      const performed = perform(found.operation, found.match.slice(1).map(decodeURIComponent), params, label)
      result = { status: performed.status, body: performed.body }
      // Stripe keeps the answer of a key once the operation ran, declines included; not for a request that failed validation.
      if (idempotencyKey !== undefined && performed.executed) idempotent.set(idempotencyKey, { fingerprint, answer: result })
    }
    // Handlers run synchronously: the events collected are this request's own.
    const early = webhooks.early ?? []
    webhooks.early = undefined
    losingCreation = false
    if (losesCapture && result.status === 200) faults.capturesLost--
    else if (losesCapture) answerlessCaptures.delete(capturing)
    if (losesCreation && result.status === 200) {
      faults.authorizationsLost--
      answerlessCreationKeys.add(idempotencyKey as string)
      answerlessAuthorizations.add((result.body as StripeObject).id)
    }
    record(result.status, stored !== undefined)
    // The endpoint hears of what the request did before the caller does; one that does not take it now gets it again later.
    for (const event of early) if (!(await post(event, true))) void deliverUntilTaken(event)
    if (capturing !== undefined && answerlessCaptures.has(capturing)) return request.socket.destroy()
    if (idempotencyKey !== undefined && answerlessCreationKeys.has(idempotencyKey)) return request.socket.destroy()
    if (faults.lostAnswers > 0 && pathname.startsWith(faults.lostAnswersTo)) {
      faults.lostAnswers--
      // Done, and its answer lost on the way back.
      return request.socket.destroy()
    }
    answer(response, result, stored !== undefined)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      webhooks.early = undefined
      losingCreation = false
      violations.push({ operation: `${request.method} ${request.url}`, part: 'operation', errors: [`server error: ${error.message}`] })
      answer(response, stripeError(500, 'api_error', error.message))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  /** The event as Stripe would post it to a webhook endpoint: its body and headers, signed (or not). */
  const signed = (event: StripeObject, { secret = webhookSecret, timestamp = now() }: { secret?: string; timestamp?: number } = {}) => {
    const rawBody = Buffer.from(JSON.stringify(event))
    return {
      rawBody,
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(rawBody.toString('utf8'), secret, timestamp) }
    }
  }

  return {
    url,
    webhookSecret,
    violations,
    requests,
    events,
    faults,
    intents,
    charges,
    refunds,
    accounts,
    transfers,
    /** The last event of `type` about `objectId`. */
    eventOf: (type: string, objectId: string) =>
      events.findLast((event) => event.type === type && (event.data as { object: StripeObject }).object.id === objectId),
    /**
     * The buyer confirms in the app (Stripe.js, 3-D Secure passed) a payment waiting for them: it is
     * authorized and `payment_intent.amount_capturable_updated` is sent; `paymentMethod` for one made without.
     */
    confirmByBuyer: (paymentId: string, paymentMethod: string = STRIPE_TEST_PAYMENT_METHODS.pays) => {
      const intent = intents.get(paymentId)
      if (!intent || !['requires_action', 'requires_payment_method'].includes(intent.status as string)) {
        throw new Error(`no payment ${paymentId} waiting for the buyer`)
      }
      // Authentication done: whatever the method, it now pays (a declined one fails as at creation).
      const method = paymentMethod === STRIPE_TEST_PAYMENT_METHODS.authenticationRequired ? STRIPE_TEST_PAYMENT_METHODS.pays : paymentMethod
      Object.assign(intent, { payment_method: method, next_action: null })
      confirm(intent)
      return intent
    },
    /** The seller finishes onboarding: transfers and payouts are enabled, and `account.updated` is sent. */
    completeOnboarding: (accountId: string) => {
      const account = accounts.get(accountId)
      if (!account) throw new Error(`no account ${accountId}`)
      Object.assign(account, {
        capabilities: { transfers: 'active' },
        details_submitted: true,
        payouts_enabled: true,
        requirements: { ...(account.requirements as object), currently_due: [], eventually_due: [], past_due: [], disabled_reason: null }
      })
      return emit('account.updated', account)
    },
    signed,
    /** From now on every event is posted to `endpoint` (e.g. order-service's /payment-webhooks/stripe) until it answers 2xx, as Stripe does. */
    sendWebhooksTo: (endpoint: string) => {
      webhooks.endpoint = endpoint
    },
    /** Every attempt to post an event to the endpoint, in order. */
    webhookDeliveries: webhooks.deliveries,
    /** Events posted to the endpoint and not yet taken by it (withheld ones not counted): none once everything has settled. */
    webhookBacklog: () => webhooks.outstanding,
    /** The payment intents whose every capture answer was lost (`faults.capturesLost`). */
    answerlessCaptures,
    /** The payment intents whose every creation answer was lost (`faults.authorizationsLost`). */
    answerlessAuthorizations,
    /** Posts the withheld events now, late (as Stripe may, after its own outage): how many. */
    releaseWithheldWebhooks: () => {
      const late = webhooks.withheld.splice(0)
      for (const event of late) void deliverUntilTaken(event)
      return late.length
    },
    /** Posts the event to a webhook endpoint as Stripe does; the endpoint's status. */
    deliver: async (endpoint: string, event: StripeObject, options?: { secret?: string; timestamp?: number }) => {
      const { rawBody, headers } = signed(event, options)
      const delivered = await fetch(endpoint, { method: 'POST', headers, body: new Uint8Array(rawBody) })
      return delivered.status
    },
    close: () => {
      webhooks.closed = true
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

export type StripeServer = Awaited<ReturnType<typeof startStripeServer>>
