import { EventBuffer } from 'better-sse'

/**
 * One SSE message, serialized and encoded once however many streams it goes to: each writes the
 * same bytes to its socket, `chunk` (framed as one HTTP/1.1 chunk) or, without chunked encoding
 * (an HTTP/1.0 client), `bytes`.
 */
export interface Frame {
  /** Its log id; none for what is not in the replayable order (the current announcements on open). */
  id?: number
  bytes: Buffer
  chunk: Buffer
}

export const wireFrame = (text: string, id?: number): Frame => {
  const bytes = Buffer.from(text)
  return { id, bytes, chunk: Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]) }
}

export const frameOf = (message: { id?: number; type: string; data: unknown }): Frame => {
  const buffer = new EventBuffer().event(message.type)
  if (message.id !== undefined) buffer.id(String(message.id))
  buffer.data(message.data).dispatch()
  return wireFrame(buffer.read(), message.id)
}
