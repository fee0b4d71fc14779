/** A connection URL fit for logs and error messages: the password is masked. */
export const redactUrl = (url: string) => {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<invalid url>'
  }
}

/**
 * A request URL fit for logs: a credential in the query (`?token=`, which browsers' EventSource
 * must use for want of headers) is masked.
 */
export const redactRequestUrl = (url: string) => url.replace(/([?&]token=)[^&#]*/gi, '$1***')
