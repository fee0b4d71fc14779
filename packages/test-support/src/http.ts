export interface Reply {
  status: number
  headers: Headers
  body: any
}

/** Plain HTTP, for what the typed client hides: status codes and headers. */
export const httpClient =
  (url: string) =>
  async (method: string, path: string, { body, token }: { body?: unknown; token?: string } = {}): Promise<Reply> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
  }
