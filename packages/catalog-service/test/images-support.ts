import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import S3rver from 's3rver'
import { waitFor } from '@marketmesh/test-support'
import type { Principal } from '@marketmesh/shared'
import type { Catalog } from './helpers'

/** A JPEG photo as a phone takes it: with the GPS position in its EXIF. */
export const photoWithGps = (width = 2400, height = 1600) =>
  sharp({ create: { width, height, channels: 3, background: { r: 180, g: 90, b: 40 } } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'TestPhone', Model: 'X1' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 7/1' }
    })
    .toBuffer()

export const smallPng = (seed = 0) =>
  sharp({ create: { width: 300, height: 200, channels: 4, background: { r: seed % 256, g: 10, b: 200, alpha: 1 } } })
    .png()
    .toBuffer()

const chunk = (type: string, data: Buffer) => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/** A PNG of a few dozen bytes whose header claims `width`×`height` pixels: a decompression bomb's shape. */
export const bombPng = (width: number, height: number) => {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', Buffer.alloc(16)),
    chunk('IEND', Buffer.alloc(0))
  ])
}

/** The three steps a client takes: ask, PUT, complete. Answers the image id. */
export const upload = async (catalog: Catalog, as: Principal, productId: string, bytes: Buffer, contentType: string, alt?: string) => {
  const asked = await catalog.call('POST', `/products/${productId}/images`, { as, body: { contentType, size: bytes.length, ...(alt && { alt }) } })
  if (asked.status !== 201) throw new Error(`upload request: ${asked.status} ${JSON.stringify(asked.body)}`)
  const put = await fetch(new URL(asked.body.uploadUrl, catalog.url), { method: 'PUT', headers: asked.body.headers, body: bytes })
  if (!put.ok) throw new Error(`PUT: ${put.status} ${await put.text()}`)
  const completed = await catalog.call('POST', `/products/${productId}/images/${asked.body.imageId}/complete`, { as, body: {} })
  if (completed.status !== 201) throw new Error(`complete: ${completed.status} ${JSON.stringify(completed.body)}`)
  return asked.body.imageId as string
}

/** Waits until the image is ready or rejected, and answers it as its seller sees it. */
export const settled = (catalog: Catalog, as: Principal, productId: string, imageId: string) =>
  waitFor(
    async () => {
      const { body } = await catalog.call('GET', `/products/${productId}/images/${imageId}`, { as })
      return ['ready', 'rejected'].includes(body.status) && body
    },
    { what: `image ${imageId} settled`, timeoutMs: 30_000 }
  )

/** Whether clamd answers PING with PONG: its database is loaded and it takes commands. */
const answersPing = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end('zPING\0'))
    const reply: Buffer[] = []
    socket.on('data', (data) => reply.push(data))
    socket.on('error', () => resolve(false))
    socket.on('close', () => resolve(Buffer.concat(reply).toString().includes('PONG')))
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** A real S3-compatible server (s3rver) on a free port with a `media` bucket, and the settings that point catalog-service at it. */
export const startS3 = async () => {
  const directory = await mkdtemp(join(tmpdir(), 'mm-s3-'))
  const port = await freePort()
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: 'media', configs: [] }] })
  await server.run()
  return {
    settings: {
      bucket: 'media',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true
    },
    close: async () => {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    }
  }
}

const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest()

/**
 * Whether a presigned URL's SigV4 signature is right for a PUT with these headers to the host the
 * URL names, as a store that checks signatures (MinIO, AWS) decides: s3rver checks none, so a PUT
 * it takes says nothing of the signature.
 */
export const signedForItsHost = (url: URL, headers: Record<string, string>, secretAccessKey: string) => {
  const query = new URLSearchParams(url.search)
  const signature = query.get('X-Amz-Signature')
  query.delete('X-Amz-Signature')
  const canonicalQuery = [...query]
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
  const signedHeaders = query.get('X-Amz-SignedHeaders')!
  const values: Record<string, string> = { host: url.host }
  for (const [name, value] of Object.entries(headers)) values[name.toLowerCase()] = value.trim()
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${values[name]}\n`)
    .join('')
  const payload = query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD'
  const canonicalRequest = ['PUT', url.pathname, canonicalQuery, canonicalHeaders, signedHeaders, payload].join('\n')
  // Credential: <access key id>/<date>/<region>/<service>/aws4_request
  const scope = query.get('X-Amz-Credential')!.split('/').slice(1)
  const stringToSign = ['AWS4-HMAC-SHA256', query.get('X-Amz-Date'), scope.join('/'), sha256(canonicalRequest)].join('\n')
  const signingKey = scope.reduce((key, part) => hmac(key, part), Buffer.from(`AWS4${secretAccessKey}`))
  return hmac(signingKey, stringToSign).toString('hex') === signature
}

/**
 * A real clamd (Debian's clamav-daemon) of the test's own: its own config, TCP port and database
 * folder, with a database the test writes (the `.hdb` MD5 signature of each file given), since the
 * official one cannot be downloaded here.
 */
export const startClamd = async (malware: Record<string, Buffer>) => {
  const directory = await mkdtemp(join(tmpdir(), 'mm-clamd-'))
  const port = await freePort()
  const signatures = Object.entries(malware).map(([name, bytes]) => `${createHash('md5').update(bytes).digest('hex')}:${bytes.length}:${name}`)
  await writeFile(join(directory, 'test.hdb'), `${signatures.join('\n')}\n`)
  const config = join(directory, 'clamd.conf')
  await writeFile(
    config,
    [
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `DatabaseDirectory ${directory}`,
      'Foreground yes',
      `LogFile ${join(directory, 'clamd.log')}`,
      'StreamMaxLength 20M',
      ''
    ].join('\n')
  )
  const clamd: ChildProcess = spawn(process.env.CLAMD_PATH ?? '/usr/sbin/clamd', ['--config-file', config], { stdio: 'ignore' })
  await waitFor(() => answersPing(port), { what: 'clamd listening', timeoutMs: 60_000, intervalMs: 200 })
  return {
    url: `tcp://127.0.0.1:${port}`,
    close: async () => {
      clamd.kill('SIGTERM')
      await new Promise((resolve) => clamd.once('exit', resolve))
      await rm(directory, { recursive: true, force: true })
    }
  }
}
