import type { Message } from 'amqplib'
import { describe, expect, it } from 'vitest'
import { describeDeadLetter } from '../src/dead-letter'

const letter = (headers: Record<string, unknown>) =>
  ({ content: Buffer.from('{}'), fields: {}, properties: { headers, messageId: 'm-1' } }) as unknown as Message

describe('describeDeadLetter', () => {
  it('shows the consumer’s recorded error, or else the reason RabbitMQ recorded when it dead-lettered the message itself', () => {
    expect(describeDeadLetter(letter({ 'x-error': 'seller account is frozen' })).error).toBe('seller account is frozen')
    expect(describeDeadLetter(letter({ 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': 'marketmesh.catalog-service' })).error).toBe(
      'dead-lettered by RabbitMQ: delivery_limit (from marketmesh.catalog-service)'
    )
  })
})
