import { appendFile } from 'node:fs/promises'
import { connect } from 'node:net'

/** Where the agent sends the rendered receipt: a network printer's raw port, a file or device node, or stdout. */
export interface PrinterOutput {
  description: string
  write: (bytes: Uint8Array) => Promise<void>
}

const CONNECT_TIMEOUT_MS = 10_000
// A printer that read everything but keeps its side of the connection open still got the job.
const CLOSE_GRACE_MS = 5_000

const writeToSocket = (host: string, port: number, bytes: Uint8Array) =>
  new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port })
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no answer from ${host}:${port} within ${CONNECT_TIMEOUT_MS / 1000} s`)))
    socket.once('error', reject)
    socket.once('connect', () => socket.setTimeout(0))
    // 'close' after our end: the printer took every byte and hung up.
    socket.once('close', (hadError) => hadError || resolve())
    socket.end(bytes, () => setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref())
  })

const TCP = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d+))?\/?$/

/** `tcp://host[:port]` (port 9100 if none), `file:PATH` or `-` (stdout); throws a message for `--out` otherwise. */
export const parseOutput = (value: string): PrinterOutput => {
  if (value === '-') {
    return {
      description: 'stdout',
      write: (bytes) => new Promise((resolve, reject) => process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())))
    }
  }
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length)
    if (path === '') throw new Error('file: needs a path, e.g. file:/dev/usb/lp0')
    return { description: value, write: (bytes) => appendFile(path, bytes) }
  }
  const tcp = TCP.exec(value)
  if (tcp) {
    const host = tcp[1].replace(/^\[(.*)\]$/, '$1')
    const port = Number(tcp[2] ?? 9100)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${tcp[2]} is not a TCP port (1-65535)`)
    return { description: `tcp://${tcp[1]}:${port}`, write: (bytes) => writeToSocket(host, port, bytes) }
  }
  throw new Error('must be tcp://HOST[:PORT] (a network printer, port 9100 by default), file:PATH or - (stdout)')
}
