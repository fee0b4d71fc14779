import pg from 'pg'

/** notify-service's webhook tables, read and changed by `marketmesh webhooks` straight in its database. */

export interface EndpointSummary {
  id: string
  owner: string
  url: string
  events: string[]
  status: string
  disabledReason: string | null
  pending: number
  failed: number
  lastSuccessAt: string | null
}

export interface FailedDelivery {
  id: string
  endpointId: string
  url: string
  eventType: string
  attempts: number
  createdAt: string
  lastStatusCode: number | null
  lastError: string | null
}

export interface DeliveryFilter {
  endpoint?: string
  type?: string
  /** Failed within the last this many seconds. */
  sinceSeconds?: number
  limit: number
}

const CONNECT_TIMEOUT_MS = 5_000

export const withNotifyDatabase = async <T>(url: string, work: (client: pg.Client) => Promise<T>) => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'marketmesh cli' })
  client.on('error', () => {})
  try {
    await client.connect()
    return await work(client)
  } catch (error) {
    const { code, message } = error as { code?: string; message: string }
    if (code === '42P01') throw new Error('it has no webhook tables (notify-service has not run its migrations)')
    throw new Error(message)
  } finally {
    await client.end().catch(() => undefined)
  }
}

const ENDPOINTS = `
  SELECT e.id, COALESCE('seller ' || e."sellerId", 'admin ' || e."ownerId") AS owner, e.url, e.events, e.status, e."disabledReason",
         (SELECT count(*) FROM webhook_deliveries d WHERE d."endpointId" = e.id AND d.status = 'pending')::int AS pending,
         (SELECT count(*) FROM webhook_deliveries d WHERE d."endpointId" = e.id AND d.status = 'failed')::int AS failed,
         (SELECT max(d."finishedAt") FROM webhook_deliveries d WHERE d."endpointId" = e.id AND d.status = 'succeeded') AS "lastSuccessAt"
    FROM webhook_endpoints e
   WHERE ($1::uuid IS NULL OR e."sellerId" = $1 OR e."ownerId" = $1)
   ORDER BY e."createdAt"`

export const listEndpoints = (client: pg.Client, owner?: string) => client.query<EndpointSummary>(ENDPOINTS, [owner ?? null]).then(({ rows }) => rows)

// The filter both the listing and the retry use, so `retry` retries what `failed` showed.
const FAILED_WHERE = `d.status = 'failed'
     AND ($1::uuid IS NULL OR d."endpointId" = $1)
     AND ($2::text IS NULL OR d."eventType" = $2)
     AND ($3::float IS NULL OR d."finishedAt" > now() - make_interval(secs => $3))`

const FAILED = `
  SELECT d.id, d."endpointId", e.url, d."eventType", d.attempts, d."createdAt",
         a."statusCode" AS "lastStatusCode", a.error AS "lastError"
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d."endpointId"
    LEFT JOIN LATERAL (SELECT "statusCode", error FROM webhook_attempts WHERE "deliveryId" = d.id ORDER BY at DESC LIMIT 1) a ON true
   WHERE ${FAILED_WHERE}
   ORDER BY d."createdAt" DESC
   LIMIT $4`

const filterValues = ({ endpoint, type, sinceSeconds, limit }: DeliveryFilter) => [endpoint ?? null, type ?? null, sinceSeconds ?? null, limit]

export const listFailedDeliveries = (client: pg.Client, filter: DeliveryFilter) =>
  client.query<FailedDelivery>(FAILED, filterValues(filter)).then(({ rows }) => rows)

// Due now, one more attempt each (notify-service's sender finds them at its next poll); only to enabled endpoints.
const RETRY = `
  UPDATE webhook_deliveries SET status = 'pending', "runAfter" = now(), "finishedAt" = NULL
   WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d."endpointId" AND e.status = 'enabled'
                 WHERE ${FAILED_WHERE} ORDER BY d."createdAt" DESC LIMIT $4)
  RETURNING id`

export const retryFailedDeliveries = (client: pg.Client, filter: DeliveryFilter) =>
  client.query<{ id: string }>(RETRY, filterValues(filter)).then(({ rows }) => rows.map(({ id }) => id))
