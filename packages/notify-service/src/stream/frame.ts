import { EventBuffer } from 'better-sse'

/**
 * One SSE message, serialized and encoded once however many streams it goes to: each writes the
 * same bytes.
 */
export interface Frame {
  /** Its log id; none for what is not in the replayable order (the current announcements on open). */
  id?: number
  bytes: Buffer
}

export const frameOf = (message: { id?: number; type: string; data: unknown }): Frame => {
  const buffer = new EventBuffer().event(message.type)
  if (message.id !== undefined) buffer.id(String(message.id))
  buffer.data(message.data).dispatch()
  return { id: message.id, bytes: Buffer.from(buffer.read()) }
}
