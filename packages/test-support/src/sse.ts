import { EventSource } from 'eventsource'
import { eventTypes } from '@marketmesh/events'
import { type Principal } from '@marketmesh/shared'
import { waitFor } from '.'
import { accessToken } from './tokens'

export interface Received {
  id: string
  type: string
  data: any
}

const TYPES = [
  ...eventTypes.filter((type) => type.startsWith('user.') || type.startsWith('order.')),
  'announcement',
  'resync',
  'test.note',
  'print.job',
  'print.job.updated',
  'message'
]

/** A real SSE client (the `eventsource` package), authenticated by header, recording what it gets. */
export const openStream = async (url: string, options: { as?: Principal; token?: string; lastEventId?: string; reconnect?: boolean } = {}) => {
  const token = options.token ?? (options.as ? accessToken(options.as) : undefined)
  const received: Received[] = []
  let opened = 0
  const source = new EventSource(`${url}/stream`, {
    fetch: (input, init) => {
      const headers: Record<string, string> = { ...(init?.headers as Record<string, string>) }
      if (token) headers.Authorization = `Bearer ${token}`
      if (options.lastEventId && !headers['Last-Event-ID']) headers['Last-Event-ID'] = options.lastEventId
      return fetch(input, { ...init, headers })
    }
  })
  for (const type of TYPES) source.addEventListener(type, (event) => received.push({ id: event.lastEventId, type, data: JSON.parse(event.data) }))
  source.addEventListener('open', () => opened++)
  await waitFor(() => opened > 0 || source.readyState === EventSource.CLOSED, { what: 'the stream to open' })
  if (options.reconnect === false) source.addEventListener('error', () => source.close())
  return {
    source,
    received,
    get opened() {
      return opened
    },
    /** The ids of what came with an id (log notifications), as numbers. */
    ids: () => received.filter((message) => message.id !== '').map((message) => Number(message.id)),
    close: () => source.close()
  }
}

export type Stream = Awaited<ReturnType<typeof openStream>>

export const receivedAtLeast = (stream: Stream, count: number, what = `${count} messages`) => waitFor(() => stream.received.length >= count, { what })

/** Opens streams and remembers them, so that a test file's afterAll closes them all. */
export const streamOpener = () => {
  const streams: Stream[] = []
  return {
    open: async (...args: Parameters<typeof openStream>) => {
      const stream = await openStream(...args)
      streams.push(stream)
      return stream
    },
    closeAll: () => {
      for (const stream of streams) stream.close()
    }
  }
}
