// An app's stream in what React Native gives JavaScript: no EventSource, a fetch that cannot stream
// (whatwg-fetch over XMLHttpRequest, as React Native's: no Response.body), an XMLHttpRequest whose
// responseText grows as data comes, with readyState 3 events (the xmlhttprequest package), and no
// URL or URLSearchParams (React Native's are partial: a trailing slash added, no `set`).
// Run by react-native-stream.test.ts: NOTIFY_URL, TOKEN; prints one JSON line per happening, and
// closes the stream when its standard input ends.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
for (const name of ['EventSource', 'fetch', 'Request', 'Response', 'Headers', 'URL', 'URLSearchParams']) delete globalThis[name]

const { XMLHttpRequest } = require('xmlhttprequest')
// What the app sent: each request's URL and whether it had an Authorization header (the package
// sets its methods on each instance, so they are wrapped there).
const requests = []
globalThis.XMLHttpRequest = function RecordedXMLHttpRequest() {
  const xhr = new XMLHttpRequest()
  const { open, setRequestHeader } = xhr
  const request = { url: '', authorized: false }
  xhr.open = (method, url, ...rest) => {
    request.url = url
    requests.push(request)
    return open.call(xhr, method, url, ...rest)
  }
  xhr.setRequestHeader = (name, value) => {
    if (name.toLowerCase() === 'authorization' && /^Bearer \S+$/.test(value)) request.authorized = true
    return setRequestHeader.call(xhr, name, value)
  }
  return xhr
}
require('whatwg-fetch')

const print = (line) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...line })}\n`)
print({
  environment: {
    EventSource: typeof globalThis.EventSource,
    fetch: typeof globalThis.fetch,
    streamingBodies: 'body' in globalThis.Response.prototype
  }
})

const { createMarketmeshClient } = await import('@marketmesh/client')
const mm = createMarketmeshClient({ baseUrl: process.env.NOTIFY_URL, token: process.env.TOKEN })
const stream = mm.stream({
  lastEventId: 0,
  onOpen: () => print({ open: true }),
  onError: (error) => print({ error }),
  onEvent: (event) => print({ event })
})

process.stdin.resume()
process.stdin.on('end', () => {
  stream.close()
  print({ closed: true, requests })
})
