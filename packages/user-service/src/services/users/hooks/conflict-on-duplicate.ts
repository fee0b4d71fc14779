import { Conflict } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import { ERROR } from '@feathersjs/knex'

const UNIQUE_VIOLATION = '23505'

/**
 * Error hook: a unique index refusing a write is the caller's conflict (409), not a bad request.
 * `messages` says what is taken, by the name of the index or constraint.
 */
export const conflictOnDuplicate = (messages: Record<string, string>) => (context: HookContext) => {
  const cause = (context.error as { [ERROR]?: { code?: string; constraint?: string } } | undefined)?.[ERROR]
  if (cause?.code === UNIQUE_VIOLATION) context.error = new Conflict(messages[cause.constraint ?? ''] ?? 'This already exists')
}
