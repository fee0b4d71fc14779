import type { HookContext } from '@feathersjs/feathers'
import { invalidField } from '../validators'

const READ_ONLY_OPTIONS = ['$select', '$sort', '$limit', '$skip'] as const

/**
 * A write answers with the whole record: `$select` would cut the result the hooks after the
 * write read (its events need every field), and paging or sorting a write means nothing.
 */
export const selectOnlyOnReads = () => (context: HookContext) => {
  if (!context.params.provider) return
  const option = READ_ONLY_OPTIONS.find((name) => context.params.query?.[name] !== undefined)
  if (option) throw invalidField(option, `is for find and get, not ${context.method}`)
}
