// The baseline of bench/images: a plain static file server (node:http, a stat and a read stream per
// request, the same headers) over the folder catalog-service keeps its images in.
// Usage: node bench/support/static-files.mjs <port> <folder>
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join, normalize } from 'node:path'

const [port, folder] = process.argv.slice(2)

createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^\/media\//, '')
  try {
    const file = await stat(join(folder, path))
    if (!file.isFile()) throw new Error('not a file')
    const { size } = file
    response.writeHead(200, {
      'Content-Type': path.endsWith('.webp') ? 'image/webp' : 'application/octet-stream',
      'Content-Length': size,
      'Cache-Control': 'public, max-age=31536000, immutable'
    })
    createReadStream(join(folder, path)).pipe(response)
  } catch {
    response.writeHead(404).end()
  }
}).listen(Number(port), '127.0.0.1')
