import type { HookContext } from '@feathersjs/feathers'
import { invalidField } from '../validators'

const NUL = '\u0000'
/** Deeper than any schema of ours goes, far shallower than what overflows the stack of the code that walks a value. */
export const MAX_INPUT_DEPTH = 32

const shown = (key: string) => key.replaceAll(NUL, '\\0')

/** Why a value cannot be taken, and where: a NUL character in a string or key, or nesting past MAX_INPUT_DEPTH. */
const unsafePart = (root: unknown, rootPath: string[]): { path: string[]; problem: string } | undefined => {
  // Iterative, so that a deeply nested body cannot overflow the stack here either.
  const pending: Array<[value: unknown, path: string[]]> = [[root, rootPath]]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next
    if (typeof value === 'string') {
      if (value.includes(NUL)) return { path, problem: 'must not contain NUL characters' }
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (path.length - rootPath.length >= MAX_INPUT_DEPTH) return { path, problem: `must not be nested deeper than ${MAX_INPUT_DEPTH} levels` }
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(NUL)) return { path: [...path, shown(key)], problem: 'must not contain NUL characters' }
      pending.push([item, [...path, key]])
    }
  }
  return undefined
}

/**
 * Refuses, naming the field, what no service can take: a NUL character (PostgreSQL stores none in
 * text or JSON) in the id, the query or the body, and a body nested so deep that the schemas,
 * resolvers and this check would walk it for nothing.
 */
export const refuseUnsafeInput = () => (context: HookContext) => {
  for (const [value, path] of [
    [context.id, ['id']],
    [context.params.query, []],
    [context.data, []]
  ] as const) {
    const unsafe = unsafePart(value, [...path])
    if (unsafe) throw invalidField(unsafe.path.join('.') || 'body', unsafe.problem)
  }
}
