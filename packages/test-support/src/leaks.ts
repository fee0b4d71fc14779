/** Columns and tables no answer may show: hashes, search and rating internals, the backbone's tables. */
export const INTERNAL_NAMES = [
  'tokenHash',
  'token_hash',
  'searchVector',
  'ratingQualitySum',
  'ratingValueSum',
  'ratingDeliverySum',
  'attributeValueIds',
  'sellerDisabled',
  'deletedAt',
  'processed_events',
  'outbox',
  'purchases',
  'attribute_values'
]

// What an answer shows when it passes on a database error or a crash.
const DATABASE_OR_CRASH = [
  /\bselect\s+("|\*|count\()|\b(from|into|update|join)\s+"\w+"/i,
  /violates|duplicate key|relation "|column "|syntax error|invalid input syntax|operator does not exist|out of range for type/i,
  /knex|sqlstate|postgres|\bpg_|node_modules/i,
  /\n\s+at |\bat [\w.<>]+ \(|\.(ts|js|mjs):\d+/
]

/** The pattern of SQL, a database message or a stack trace that `text` carries, if any. */
export const databaseOrCrashDetails = (text: string) => DATABASE_OR_CRASH.find((pattern) => pattern.test(text))

/** Why an error body is not acceptable, if it is not: it must name the problem and give nothing away. */
export const errorBodyProblem = (body: unknown, text: string, request: string): string | undefined => {
  const message = (body as { message?: unknown } | undefined)?.message
  if (typeof message !== 'string' || message.trim() === '') return 'no message'
  const leak = databaseOrCrashDetails(text)
  if (leak) return `leaks database or stack details (${leak})`
  // Repeating a name the caller sent is no leak; naming one it did not is.
  const named = INTERNAL_NAMES.find((name) => text.includes(name) && !request.includes(name))
  if (named) return `names the internal ${named}`
  return undefined
}

// `password` is a field people send, so messages may name it; an answer never carries it (the hash).
const INTERNAL_FIELDS = [...INTERNAL_NAMES, 'password']

/** The internal field names found anywhere in a successful answer's JSON. */
export const internalKeysIn = (value: unknown, found = new Set<string>()): Set<string> => {
  if (Array.isArray(value)) for (const item of value) internalKeysIn(item, found)
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (INTERNAL_FIELDS.includes(key)) found.add(key)
      internalKeysIn(item, found)
    }
  }
  return found
}

/** Whether any object in the answer has one of these keys. */
export const hasKeys = (value: unknown, keys: string[]): boolean =>
  Array.isArray(value)
    ? value.some((item) => hasKeys(item, keys))
    : value !== null && typeof value === 'object' && Object.entries(value).some(([key, item]) => keys.includes(key) || hasKeys(item, keys))
