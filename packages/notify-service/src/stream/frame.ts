import { EventBuffer } from 'better-sse'

/** One SSE message, serialized once however many streams it goes to. */
export interface Frame {
  /** Its log id; none for what is not in the replayable order (the current announcements on open). */
  id?: number
  buffer: EventBuffer
  bytes: number
}

export const frameOf = (message: { id?: number; type: string; data: unknown }): Frame => {
  const buffer = new EventBuffer().event(message.type)
  if (message.id !== undefined) buffer.id(String(message.id))
  buffer.data(message.data).dispatch()
  return { id: message.id, buffer, bytes: Buffer.byteLength(buffer.read()) }
}
