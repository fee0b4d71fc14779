import { connect } from 'node:net'

export type ScanResult = { clean: true } | { clean: false; signature: string }

/** Looks for malware in an upload's bytes. */
export interface MalwareScanner {
  scan(bytes: Buffer): Promise<ScanResult>
}

const CHUNK = 64 * 1024
const TIMEOUT_MS = 60_000

/**
 * clamd over TCP with `INSTREAM` (clamd(8)): the bytes in chunks, each after its length as a
 * 4-byte big-endian integer, a zero length to end; clamd answers `stream: OK` or
 * `stream: <signature> FOUND`. Anything else (an error, a size over its StreamMaxLength) fails the
 * scan, so the upload is tried again later rather than passed unscanned.
 */
export class ClamavScanner implements MalwareScanner {
  private readonly host: string
  private readonly port: number

  constructor(url: string) {
    const { hostname, port } = new URL(url)
    this.host = hostname
    this.port = Number(port)
  }

  scan(bytes: Buffer): Promise<ScanResult> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port })
      const reply: Buffer[] = []
      socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('clamd did not answer in time')))
      socket.on('error', reject)
      socket.on('data', (data) => reply.push(data))
      socket.on('end', () => {
        const answer = Buffer.concat(reply).toString('utf8').replace(/\0/g, '').trim()
        const found = /^stream: (.+) FOUND$/.exec(answer)
        if (answer === 'stream: OK') resolve({ clean: true })
        else if (found) resolve({ clean: false, signature: found[1] })
        else reject(new Error(`clamd: ${answer || 'no answer'}`))
      })
      socket.on('connect', () => {
        socket.write('zINSTREAM\0')
        for (let offset = 0; offset < bytes.length; offset += CHUNK) {
          const chunk = bytes.subarray(offset, offset + CHUNK)
          const length = Buffer.alloc(4)
          length.writeUInt32BE(chunk.length)
          socket.write(length)
          socket.write(chunk)
        }
        socket.end(Buffer.alloc(4))
      })
    })
  }
}
