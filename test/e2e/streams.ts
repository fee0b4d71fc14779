import type { MarketmeshClient, StreamEvent, StreamEventData, StreamEventType } from '@marketmesh/client'
import { waitFor } from '@marketmesh/test-support'

/** A client's `stream()`, recording every message it gets; resolves once the stream is open. */
export const recordStream = async (client: MarketmeshClient, { lastEventId }: { lastEventId?: string } = {}) => {
  const events: StreamEvent[] = []
  const errors: string[] = []
  let opened = 0
  const stream = client.stream({
    lastEventId,
    onEvent: (event) => events.push(event),
    onOpen: () => opened++,
    onError: (error) => errors.push(`${error.status ?? ''} ${error.message}`)
  })
  await waitFor(() => opened > 0, { what: `the stream to open (errors: ${errors.join('; ') || 'none'})`, timeoutMs: 30_000 })
  return {
    events,
    stream,
    /** The data of the messages of one type. */
    ofType: <T extends StreamEventType>(type: T) => events.filter((event) => event.type === type).map((event) => event.data as StreamEventData[T]),
    /** The log ids of what came with one. */
    ids: () => events.flatMap((event) => (event.id === undefined ? [] : [event.id])),
    close: () => stream.close()
  }
}

export type RecordedStream = Awaited<ReturnType<typeof recordStream>>

/** Waits until `stream` has a message of `type` that `matches`, and returns its data. */
export const nextOn = <T extends StreamEventType>(
  stream: RecordedStream,
  type: T,
  matches: (data: StreamEventData[T]) => boolean = () => true,
  what: string = type
) => waitFor(() => stream.ofType(type).find(matches), { what: `${what} on the stream`, timeoutMs: 30_000 })
