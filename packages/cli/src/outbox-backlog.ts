import pg from 'pg'

export interface OutboxBacklog {
  unsent: number
  oldestUnsentAgeSeconds: number | null
  sentLastMinute: number
}

// Both counts run on the outbox's partial indexes (unsent rows; sent_at of sent rows), not on the whole table.
const BACKLOG = `
  SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)::int AS unsent,
         (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE sent_at IS NULL)::float AS oldest,
         (SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at > now() - interval '1 minute')::int AS sent`

const CONNECT_TIMEOUT_MS = 5_000

/** What a service's outbox relay still has to publish, read from the service's database. */
export const readOutboxBacklog = async (url: string): Promise<OutboxBacklog> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'marketmesh cli' })
  client.on('error', () => {})
  try {
    await client.connect()
    const {
      rows: [row]
    } = await client.query(BACKLOG)
    return { unsent: row.unsent, oldestUnsentAgeSeconds: row.oldest === null ? null : Math.round(row.oldest), sentLastMinute: row.sent }
  } catch (error) {
    const { code, message } = error as { code?: string; message: string }
    if (code === '42P01') throw new Error('it has no outbox table (the service has not run its migrations)')
    if (code === '3D000') throw new Error('it does not exist (the service has not started yet?)')
    throw new Error(message || String(code))
  } finally {
    await client.end().catch(() => {})
  }
}
