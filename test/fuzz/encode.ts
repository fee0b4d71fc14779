/** Percent-encodes text byte by byte as UTF-8, so that a lone surrogate or a NUL byte goes out as the bytes a client would send. */
export const encodeText = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    )
    .join('')

/** A value as a query string in the bracket notation Feathers parses (qs): `a[b][0]=c`. */
export const encodeQuery = (value: Record<string, unknown>): string => {
  const pairs: string[] = []
  const add = (key: string, item: unknown) => {
    if (Array.isArray(item)) item.forEach((entry, index) => add(`${key}[${index}]`, entry))
    else if (item !== null && typeof item === 'object') for (const [child, entry] of Object.entries(item)) add(`${key}[${encodeText(child)}]`, entry)
    else pairs.push(`${key}=${encodeText(String(item))}`)
  }
  for (const [key, item] of Object.entries(value)) add(encodeText(key), item)
  return pairs.join('&')
}
